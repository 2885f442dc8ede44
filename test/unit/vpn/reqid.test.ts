// Fixed reqids per tunnel: distinct within one charon, and stable for a
// tunnel whatever happens to the others (a changed reqid re-keys a tunnel).
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../appliance/model/schema.js';
import { NO_CAPABILITIES } from '../../../appliance/platform/capabilities.js';
import { describeVpn, renderVpn, tunnelReqids } from '../../../appliance/subsystems/vpn/render.js';
import { REQID_MAX, REQID_MIN, assignReqids, nextReqid, reqidSlot } from '../../../appliance/subsystems/vpn/reqid.js';
import { buildRemoteSite, generateRemoteConfig } from '../../../appliance/subsystems/vpn/remote-config/index.js';

const PSK = 'unit-test-psk-0123456789';
/** Two keys whose hashes land on the same reqid (found by search). */
const COLLIDING = ['p/t51566', 'p/t95459'] as const;

type Tunnel = { name: string; local_subnets: string[]; remote_subnets: string[]; enabled?: boolean };
const tunnel = (name: string, remote: string): Tunnel => ({ name, local_subnets: ['10.1.0.0/24'], remote_subnets: [remote] });
const peer = (name: string, remote: string, tunnels: Tunnel[]) => ({ name, remote, auth: { method: 'psk', psk: PSK }, tunnels });

function doc(peers: unknown[]): Config {
  return {
    interfaces: [
      { name: 'ccnn0', role: 'ccnn', zone: 'ccnn', addresses: ['100.64.0.2/24'] },
      { name: 'vpc0', role: 'vpc', zone: 'vpc-a', addresses: ['10.1.0.1/24'] },
    ],
    zones: [{ name: 'ccnn' }, { name: 'vpc-a' }, { name: 'vpn' }],
    vpn: { peers: peers as never },
  };
}

const lan = tunnel('lan', '192.168.50.0/24');
const multi = tunnel('multi', '192.168.60.0/24');
const extra = tunnel('extra', '192.168.70.0/24');

/** reqid of every rendered child, by "peer/tunnel". */
function renderedReqids(config: Config): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of renderVpn(config, NO_CAPABILITIES).connections) {
    const children = c.config.get('children') as never as { keys(): string[]; get(k: string): { get(k: string): unknown } };
    for (const name of children.keys()) out[`${c.name}/${name}`] = Number(children.get(name).get('reqid'));
  }
  return out;
}

describe('reqid allocation', () => {
  it('gives each key its hash slot, inside the range charon never allocates from', () => {
    const reqids = assignReqids(['a/lan', 'a/multi', 'b/lan']);
    expect([...reqids.values()]).toEqual([reqidSlot('a/lan'), reqidSlot('a/multi'), reqidSlot('b/lan')]);
    for (const r of reqids.values()) expect(r >= REQID_MIN && r <= REQID_MAX).toBe(true);
    expect(new Set(reqids.values()).size).toBe(3);
  });

  it('does not depend on the order or on the other keys', () => {
    const all = assignReqids(['a/lan', 'a/multi', 'b/lan']);
    expect(assignReqids(['b/lan', 'a/multi', 'a/lan'])).toEqual(all);
    expect(assignReqids(['a/multi']).get('a/multi')).toBe(all.get('a/multi'));
  });

  it('moves the later of two colliding keys to the next free value', () => {
    expect(reqidSlot(COLLIDING[0])).toBe(reqidSlot(COLLIDING[1]));
    const slot = reqidSlot(COLLIDING[0]);
    const reqids = assignReqids([COLLIDING[1], COLLIDING[0]]);
    expect(reqids.get(COLLIDING[0])).toBe(slot);
    expect(reqids.get(COLLIDING[1])).toBe(slot + 1);
    expect(nextReqid(REQID_MAX)).toBe(REQID_MIN);
  });
});

describe('vpn render: one fixed reqid per tunnel', () => {
  it('renders a distinct reqid into every child and shows it in the plan', () => {
    const reqids = renderedReqids(doc([peer('onprem', '198.18.1.2', [lan, multi]), peer('dc2', '198.18.1.3', [lan])]));
    expect(Object.keys(reqids)).toEqual(['onprem/lan', 'onprem/multi', 'dc2/lan']);
    expect(new Set(Object.values(reqids)).size).toBe(3);
    const plan = describeVpn(renderVpn(doc([peer('onprem', '198.18.1.2', [lan])]), NO_CAPABILITIES)).join('\n');
    expect(plan).toContain(`conn onprem child lan: reqid = ${reqids['onprem/lan']}`);
  });

  it('keeps a tunnel\'s reqid and digest when other tunnels or peers are added, removed, reordered or disabled', () => {
    const render = (peers: unknown[]) => renderVpn(doc(peers), NO_CAPABILITIES).connections.find((c) => c.name === 'onprem')!;
    const base = render([peer('onprem', '198.18.1.2', [lan, multi])]);
    const variants = [
      [peer('onprem', '198.18.1.2', [lan])],
      [peer('onprem', '198.18.1.2', [multi, extra, lan])],
      [peer('onprem', '198.18.1.2', [lan, { ...multi, enabled: false }])],
      [peer('dc2', '198.18.1.3', [lan, multi]), peer('onprem', '198.18.1.2', [lan, multi])],
    ];
    for (const peers of variants) expect(render(peers).childDigests.lan).toBe(base.childDigests.lan);
    expect(render(variants[1]!).childDigests.multi).toBe(base.childDigests.multi);
  });

  it('a renamed tunnel is a new child with a new reqid', () => {
    const before = renderedReqids(doc([peer('onprem', '198.18.1.2', [lan])]));
    const after = renderedReqids(doc([peer('onprem', '198.18.1.2', [{ ...lan, name: 'lan2' }])]));
    expect(after['onprem/lan2']).not.toBe(before['onprem/lan']);
  });

  it('keeps colliding tunnels apart, disabled ones included', () => {
    const [a, b] = COLLIDING.map((k) => tunnel(k.split('/')[1]!, '192.168.50.0/24'));
    const config = doc([peer('p', '198.18.1.2', [{ ...a!, enabled: false }, b!])]);
    const slot = reqidSlot(COLLIDING[0]);
    expect(tunnelReqids(config)).toEqual(new Map([[COLLIDING[0], slot], [COLLIDING[1], slot + 1]]));
    // enabling the first tunnel later does not move the second
    expect(renderedReqids(config)).toEqual({ [COLLIDING[1]]: slot + 1 });
  });
});

describe('remote config (strongSwan): fixed reqids on the on-prem side too', () => {
  it('distinct per tunnel, written into swanctl.conf, and different for another Junction endpoint', () => {
    const config = doc([peer('onprem', '198.18.1.2', [lan, multi])]);
    const site = buildRemoteSite(config, 'onprem');
    const [l, m] = site.tunnels.map((t) => t.reqid);
    expect(l).not.toBe(m);
    const text = generateRemoteConfig(config, 'onprem', 'strongswan');
    expect(text).toContain(`reqid = ${l}\n`);
    expect(text).toContain(`reqid = ${m}\n`);
    const other = buildRemoteSite({ ...config, interfaces: [{ ...config.interfaces[0]!, addresses: ['100.64.0.3/24'] }, config.interfaces[1]!] }, 'onprem');
    expect(other.tunnels[0]!.reqid).not.toBe(l);
    expect(buildRemoteSite(doc([peer('onprem', '198.18.1.2', [lan])]), 'onprem').tunnels[0]!.reqid).toBe(l);
  });
});
