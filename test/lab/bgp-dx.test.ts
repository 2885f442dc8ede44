// BGP over Direct Connect end to end: the real `junction serve` in the lab's
// router namespace, configured only through its API, peers with an on-prem
// bird (configured by hand in the onprem namespace) over two Direct Connect
// links (dx0, dx1) with TCP MD5 and BFD. Covers: sessions and status, routes
// both ways, VPC traffic to the on-prem LAN through the dx zone policy, ECMP
// over both links, BFD failover, a wrong MD5 key, max-prefix, an unlisted
// prefix, commit-confirm, bad input, resets, and removal.
// All traffic starts inside lab namespaces; the on-prem bird is stopped by
// its pid and the lab (namespaces, Junction, its bird) is removed in afterAll.
import { rmSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { addressing } from '../lab-kit/topology.js';
import { ping, tcpConnect, tcpListen } from '../lab-kit/traffic.js';
import { requireRoot, uniquePrefix, withLab } from './support/lab-fixture.js';
import { startJunction, type RunningJunction } from './support/junction.js';
import { JUNCTION_ASN, ONPREM_ASN, OnpremBird, type OnpremOptions } from './support/onprem-bird.js';
import { waitFor } from './../lab-kit/wait.js';
import { sleep } from '../../appliance/platform/sleep.js';
import { agePastJitter, expectNewSession, expectSameSession, sameSession } from './support/bgp-session.js';
import { requireTools } from './support/tools.js';

const root = requireRoot();
requireTools('bgp-dx', root.isRoot, [{ program: 'bird', pkg: 'bird2' }]);
const skipReason = root.reason;
if (skipReason) console.log(`[bgp-dx] skipped: ${skipReason}`);

const op = addressing.onprem;
const { vpcs } = addressing;
const PASSWORD = 'dx-s3cret-key';
const demo = parseYaml(readFileSync(fileURLToPath(new URL('../lab-kit/demo.yaml', import.meta.url)), 'utf8')) as Record<string, any>;

const neighbor = (id: string, address: string, iface: string) => ({
  id,
  address,
  remote_asn: ONPREM_ASN,
  interface: iface,
  password: PASSWORD,
  bfd: { interval_ms: 100, multiplier: 3 },
  import: { prefixes: [{ prefix: op.lanSubnet }, { prefix: '10.50.0.0/16', le: 24 }] },
  description: `Direct Connect ${iface}`,
});

/** The demo plus two dx links in zone "dx", a vpc-a -> dx policy, and BGP. */
function document(): Record<string, any> {
  return {
    ...demo,
    interfaces: [
      ...demo.interfaces,
      { name: 'dx0', role: 'dx', zone: 'dx', addresses: [`${op.dxRouter}/30`] },
      { name: 'dx1', role: 'dx', zone: 'dx', addresses: [`${op.dx1Router}/30`] },
    ],
    zones: [...demo.zones, { name: 'dx', description: 'Direct Connect to the on-prem site' }],
    firewall: { policies: [...demo.firewall.policies, { name: 'a-to-onprem', from: 'vpc-a', to: 'dx', rules: [{ id: 'a-to-onprem-any', action: 'accept' }] }] },
    bgp: {
      asn: JUNCTION_ASN,
      router_id: op.dxRouter,
      neighbors: [neighbor('dx-1', op.dxOnprem, 'dx0'), neighbor('dx-2', op.dx1Onprem, 'dx1')],
    },
  };
}

const onpremDefaults: OnpremOptions = { passwords: [PASSWORD, PASSWORD], secondLink: true };

describe.skipIf(!!skipReason)('BGP over Direct Connect: junction serve and an on-prem bird', () => {
  const prefix = uniquePrefix('g');
  const lab = withLab({ prefix, onprem: true, dxLinks: 2 }, !skipReason);
  let junction: RunningJunction;
  let onprem: OnpremBird;

  const api = (method: string, path: string, body?: unknown) => junction.api(method, path, body);
  const status = async () => {
    const r = await api('GET', '/v1/bgp/status');
    expect(r.status, r.text).toBe(200);
    return r.body as { neighbors: Array<Record<string, any>>; bird: Record<string, any>; tcp_md5?: Record<string, any> };
  };
  const peer = async (id: string) => (await status()).neighbors.find((n) => n.id === id)!;
  // Settled: Established for 2 s with the BFD session Up. A session that came back right after the
  // peer's reconfigure can still be taken down by the peer's BFD session restarting (seen once: "BFD
  // session down" 0.5 s after Established), and a test that then says "this session must not flap"
  // must start after that.
  const SETTLED_MS = 2000;
  const bothUp = () => waitFor('dx-1 and dx-2 Established for 2 s, BFD Up', async () => {
    const s = await status();
    const settled = (n: Record<string, any>) => n.established && Date.now() - Date.parse(n.since ?? '') >= SETTLED_MS && (!n.bfd?.configured || n.bfd.state === 'Up');
    return s.neighbors.every(settled) && s;
  }, 60_000, 250);
  const lanRoute = async () => (await lab().exec('router', ['ip', 'route', 'show', op.lanSubnet], { check: true })).stdout;
  const txPackets = async (iface: string) => {
    const out = await lab().exec('router', ['ip', '-j', '-s', 'link', 'show', 'dev', iface], { check: true });
    return (JSON.parse(out.stdout) as Array<{ stats64: { tx: { packets: number } } }>)[0].stats64.tx.packets;
  };
  const multipath = (route: string) => route.includes('nexthop via 169.254.10.2 dev dx0') && route.includes('nexthop via 169.254.10.6 dev dx1');

  beforeAll(async () => {
    onprem = new OnpremBird(lab());
    await onprem.start(onpremDefaults);
    junction = await startJunction(lab());
    const put = await api('PUT', '/v1/config?comment=bgp', document());
    expect(put.status, put.text).toBe(200);
    expect(put.body.actions.bgp.join(' ')).toMatch(/start bird/);
    expect(JSON.stringify(put.body.plan)).not.toContain(PASSWORD);
  });

  afterAll(async () => {
    await onprem?.stop();
    await junction?.stop();
    if (junction) rmSync(junction.stateDir, { recursive: true, force: true });
  });

  it('brings up both sessions with TCP MD5 and BFD and reports them per neighbor', async () => {
    const s = await bothUp();
    const dx1 = await waitFor('prefix counts and BFD', async () => {
      const n = await peer('dx-1');
      return n.prefixes.accepted === 3 && n.bfd.state === 'Up' && n;
    }, 30_000);
    console.log(`[bgp-dx] dx-1: ${JSON.stringify(dx1)}`);
    expect(dx1).toMatchObject({
      address: op.dxOnprem, interface: 'dx0', remote_asn: ONPREM_ASN, state: 'Established', established: true, md5: true,
      prefixes: { received: 4, accepted: 3, filtered: 1, advertised: 2 }, hold_time: 90,
      bfd: { configured: true, state: 'Up' },
    });
    expect(dx1.uptime_s).toBeGreaterThanOrEqual(0);
    expect(Date.parse(dx1.since)).not.toBeNaN();
    expect(s.tcp_md5?.supported).toBe(true);
    expect(s.bird.running).toBe(true);
    const system = await api('GET', '/v1/status');
    expect(system.body.capabilities.tcpMd5).toMatchObject({ supported: true });
    // the password is write-only
    const listed = await api('GET', '/v1/bgp/neighbors');
    expect(listed.body.items.map((n: { password: string }) => n.password)).toEqual(['********', '********']);
    expect(listed.text).not.toContain(PASSWORD);
  });

  it('installs on-prem routes (one multipath route over dx0 and dx1, proto bird, metric 2000) and announces the VPC subnets', async () => {
    const route = await waitFor('multipath route to the on-prem LAN', async () => {
      const r = await lanRoute();
      return multipath(r) && r;
    });
    console.log(`[bgp-dx] router: ${route.trim().replace(/\s+/g, ' ')}`);
    expect(route).toMatch(/proto bird metric 2000/);
    const onpremRoutes = await waitFor('on-prem learns the VPC subnets', async () => {
      const r = await lab().exec('onprem', ['ip', 'route', 'show', 'proto', 'bird'], { check: true });
      return r.stdout.includes(vpcs.a.subnet) && r.stdout.includes(vpcs.b.subnet) && r.stdout;
    });
    expect(onpremRoutes).not.toContain(op.lanSubnet);
  });

  it('does not install a prefix the peer announces that is not on the import list, and shows it as filtered', async () => {
    const kernel = await lab().exec('router', ['ip', 'route', 'show', '203.0.113.0/24'], { check: true });
    expect(kernel.stdout.trim()).toBe('');
    const accepted = await api('GET', '/v1/bgp/routes');
    expect(accepted.status, accepted.text).toBe(200);
    const prefixes = accepted.body.routes.map((r: { prefix: string }) => r.prefix);
    expect(prefixes).not.toContain('203.0.113.0/24');
    expect(new Set(prefixes)).toEqual(new Set([op.lanSubnet, '10.50.1.0/24', '10.50.2.0/24']));
    const filtered = await api('GET', '/v1/bgp/routes?filtered=true&neighbor=dx-1');
    expect(filtered.body.routes).toMatchObject([{ prefix: '203.0.113.0/24', neighbor: 'dx-1', filtered: true, as_path: [ONPREM_ASN] }]);
  });

  it('lists learned routes with filters (prefix, neighbor, limit) parsed from reply codes', async () => {
    const lan = await api('GET', `/v1/bgp/routes?prefix=${encodeURIComponent('192.168.0.0/16')}`);
    expect(lan.body.routes).toHaveLength(2); // one path per link
    expect(new Set(lan.body.routes.map((r: { neighbor: string }) => r.neighbor))).toEqual(new Set(['dx-1', 'dx-2']));
    expect(lan.body.routes[0]).toMatchObject({ prefix: op.lanSubnet, as_path: [ONPREM_ASN], origin: 'IGP', local_pref: 100 });
    expect(lan.body.routes.flatMap((r: { next_hops: unknown[] }) => r.next_hops)).toEqual(expect.arrayContaining([
      { address: op.dxOnprem, interface: 'dx0' }, { address: op.dx1Onprem, interface: 'dx1' },
    ]));
    const one = await api('GET', '/v1/bgp/routes?neighbor=dx-2&limit=1');
    expect(one.body).toMatchObject({ truncated: true });
    expect(one.body.routes).toHaveLength(1);
    expect(one.body.routes[0].neighbor).toBe('dx-2');
    expect((await api('GET', '/v1/bgp/routes?prefix=10.0.0.1/33')).status).toBe(400);
    expect((await api('GET', '/v1/bgp/routes?neighbor=nope')).status).toBe(404);
  });

  it('static and BGP routes coexist: a static route (metric 0) wins, one above metric 2000 is a floating backup', async () => {
    const get = async (address: string) => (await lab().exec('router', ['ip', 'route', 'get', address], { check: true })).stdout;
    await waitFor('BGP routes to 10.50.1.0/24 and 10.50.2.0/24', async () => {
      const r = (await lab().exec('router', ['ip', 'route', 'show', 'proto', 'bird'], { check: true })).stdout;
      return r.includes('10.50.1.0/24') && r.includes('10.50.2.0/24');
    });
    const floating = await api('POST', '/v1/routes/static', { id: 'onprem-backup', destination: '10.50.1.0/24', via: op.dx1Onprem, metric: 3000 });
    expect(floating.status, floating.text).toBe(201);
    const pinned = await api('POST', '/v1/routes/static', { id: 'onprem-pinned', destination: '10.50.2.0/24', via: op.dx1Onprem });
    expect(pinned.status, pinned.text).toBe(201);
    try {
      const both = (await lab().exec('router', ['ip', 'route', 'show', '10.50.1.0/24'], { check: true })).stdout;
      expect(both).toMatch(/proto bird metric 2000/);
      expect(both).toMatch(/via 169\.254\.10\.6 dev dx1 proto 77 metric 3000/);
      expect(await get('10.50.1.5')).not.toMatch(/proto 77/); // BGP (2000) beats the floating static (3000)
      expect(await get('10.50.2.5')).toMatch(/via 169\.254\.10\.6 dev dx1/); // the static (0) beats BGP
      expect((await lab().exec('router', ['ip', 'route', 'show', '10.50.2.0/24', 'proto', 'bird'], { check: true })).stdout).toMatch(/metric 2000/);
    } finally {
      expect((await api('DELETE', '/v1/routes/static/onprem-backup')).status).toBe(200);
      expect((await api('DELETE', '/v1/routes/static/onprem-pinned')).status).toBe(200);
    }
  });

  it('lets a VPC host ping and open TCP to the on-prem LAN host through the DX path; the dx zone policy applies', async () => {
    expect((await ping(lab(), 'a1', op.lanHost, { count: 3, timeoutS: 5 })).reachable).toBe(true);
    const listener = await tcpListen(lab(), 'onprem-lan', 8443);
    try {
      expect(await tcpConnect(lab(), 'a1', op.lanHost, 8443)).toBe(true);
      expect((await listener.waitForPeer()).address).toBe(vpcs.a.hosts.a1); // routed, not NATed
      // vpc-b has no policy towards the dx zone: zero trust
      expect(await tcpConnect(lab(), 'b1', op.lanHost, 8443, 1500)).toBe(false);
      expect(listener.peers().map((p) => p.address)).not.toContain(vpcs.b.hosts.b1);
    } finally {
      await listener.close();
    }
  });

  it('ECMP: many flows from the VPC use both Direct Connect links', async () => {
    const listener = await tcpListen(lab(), 'onprem-lan', 8444);
    const before = { dx0: await txPackets('dx0'), dx1: await txPackets('dx1') };
    try {
      for (let i = 0; i < 16; i++) expect(await tcpConnect(lab(), i % 2 ? 'a1' : 'a2', op.lanHost, 8444)).toBe(true);
    } finally {
      await listener.close();
    }
    const delta = { dx0: (await txPackets('dx0')) - before.dx0, dx1: (await txPackets('dx1')) - before.dx1 };
    console.log(`[bgp-dx] ECMP: 16 TCP connections sent ${delta.dx0} packets on dx0 and ${delta.dx1} on dx1`);
    expect(delta.dx0).toBeGreaterThan(3);
    expect(delta.dx1).toBeGreaterThan(3);
  });

  /** The link that carries a running flow: the one whose counter grows fastest meanwhile. */
  async function flowLink(windowMs: number): Promise<'dx0' | 'dx1'> {
    const before = { dx0: await txPackets('dx0'), dx1: await txPackets('dx1') };
    await sleep(windowMs);
    const d0 = (await txPackets('dx0')) - before.dx0;
    const d1 = (await txPackets('dx1')) - before.dx1;
    return d0 >= d1 ? 'dx0' : 'dx1';
  }

  /** Cuts one link, measures route withdrawal and ping loss, restores it. */
  async function failover(how: 'silent' | 'link-down') {
    await bothUp();
    await waitFor('BFD Up on both sessions', async () => (await status()).neighbors.every((n) => n.bfd.state === 'Up'), 30_000);
    await waitFor('multipath route', async () => multipath(await lanRoute()));
    const intervalMs = 10;
    const pinging = ping(lab(), 'a1', op.lanHost, { count: 400, intervalS: intervalMs / 1000, timeoutS: 8 });
    // cut the link this very flow hashes to (each ping has its own ICMP id)
    await sleep(500);
    const link = await flowLink(500);
    const [id, gone] = link === 'dx0' ? ['dx-1', 'via 169.254.10.2'] : ['dx-2', 'via 169.254.10.6'];
    const start = Date.now();
    if (how === 'silent') {
      // the peer's end stays up but passes nothing: only BFD can notice (hold time is 90 s)
      await lab().exec('onprem', ['nft', `add table inet jncut; add chain inet jncut in { type filter hook input priority -10; policy accept; }; add chain inet jncut out { type filter hook output priority -10; policy accept; }; add chain inet jncut through { type filter hook forward priority -10; policy accept; }; add rule inet jncut in iifname "${link}" drop; add rule inet jncut out oifname "${link}" drop; add rule inet jncut through iifname "${link}" drop; add rule inet jncut through oifname "${link}" drop`], { check: true });
    } else {
      await lab().exec('onprem', ['ip', 'link', 'set', link, 'down'], { check: true });
    }
    try {
      await waitFor(`route via ${link} withdrawn`, async () => !(await lanRoute()).includes(gone), 10_000, 10);
      const withdrawnMs = Date.now() - start;
      const result = await pinging;
      const lost = result.transmitted - result.received;
      const route = (await lanRoute()).trim().replace(/\s+/g, ' ');
      const cut = await peer(id);
      console.log(`[bgp-dx] failover (${how}, ${link}, BFD 100 ms x 3, hold 90 s): route withdrawn after ${withdrawnMs} ms; ping every ${intervalMs} ms lost ${lost}/${result.transmitted} (~${lost * intervalMs} ms); ${id} now ${cut.state}, BFD ${cut.bfd.state}; route: ${route}`);
      expect(withdrawnMs).toBeLessThan(1000);
      expect(lost * intervalMs).toBeLessThan(1000);
      if (how === 'silent') expect(lost).toBeGreaterThan(0); // the flow was on the cut link
      expect(result.received).toBeGreaterThan(result.transmitted - 100);
      expect(route).toMatch(link === 'dx0' ? /via 169\.254\.10\.6 dev dx1/ : /via 169\.254\.10\.2 dev dx0/);
      expect(cut.established).toBe(false);
      expect((await peer(id === 'dx-1' ? 'dx-2' : 'dx-1')).established).toBe(true);
      return { withdrawnMs, lostMs: lost * intervalMs };
    } finally {
      if (how === 'silent') await lab().exec('onprem', ['nft', 'delete table inet jncut']);
      else await lab().exec('onprem', ['ip', 'link', 'set', link, 'up']);
      await pinging.catch(() => undefined);
    }
  }

  it('BFD: a silently dead link (peer passes nothing, carrier stays up) is withdrawn in well under a second, traffic stays on the other link', async () => {
    await failover('silent');
    await bothUp();
    await waitFor('multipath again', async () => multipath(await lanRoute()), 30_000);
  });

  it('BFD: a link cut (veth set down) fails over in under a second, not after the 90 s hold time', async () => {
    await failover('link-down');
    await bothUp();
    await waitFor('multipath again', async () => multipath(await lanRoute()), 30_000);
  });

  it('a wrong MD5 key keeps the session down, status says why, and the other session stays up', async () => {
    const other = await peer('dx-2');
    await agePastJitter(other);
    await onprem.reconfigure({ ...onpremDefaults, passwords: ['not-the-key', PASSWORD] });
    try {
      const down = await waitFor('dx-1 down with an MD5 reason', async () => {
        const n = await peer('dx-1');
        return !n.established && /MD5/.test(n.last_error ?? '') && n;
      }, 30_000, 500);
      console.log(`[bgp-dx] wrong MD5 key: dx-1 ${down.state}, last error: ${down.last_error}`);
      await sleep(5000);
      expect((await peer('dx-1')).established).toBe(false);
      const dx2 = await peer('dx-2');
      expect(dx2.established).toBe(true);
      expectSameSession(dx2, other, 'dx-2');
    } finally {
      await onprem.reconfigure(onpremDefaults);
    }
    await bothUp();
  });

  it('max-prefix: over the limit the configured action (disable) takes the session down; the other session is not reset', async () => {
    const stable = await bothUp();
    const dx1Before = stable.neighbors.find((n) => n.id === 'dx-1')!;
    await agePastJitter(dx1Before);
    const current = (await api('GET', '/v1/bgp/neighbors/dx-2')).body;
    expect(current.password).toBe('********');
    const put = await api('PUT', '/v1/bgp/neighbors/dx-2', { ...current, max_prefix: { limit: 2, action: 'disable' } });
    expect(put.status, put.text).toBe(200);
    try {
      expect(put.body.plan.subsystems.find((s: { subsystem: string }) => s.subsystem === 'bgp').add.join(' ')).toMatch(/bgp_dx-2' > ipv4 > import limit 2 action disable;/);
      const limited = await waitFor('dx-2 disabled by its import limit', async () => {
        const n = await peer('dx-2');
        return n.protocol_state === 'down' && n;
      }, 30_000, 250).catch(async (e: Error) => { throw new Error(`${e.message}: ${JSON.stringify(await peer('dx-2'))}`); });
      console.log(`[bgp-dx] max-prefix 2 (3 accepted): dx-2 ${limited.protocol_state}/${limited.state}, last error: ${limited.last_error ?? '-'}`);
      expect(limited.last_error ?? '').toMatch(/limit/i);
      expect(limited.last_error ?? '').not.toMatch(/MD5/);
      const dx1 = await peer('dx-1');
      expect(dx1.established, `dx-1 must stay up: ${JSON.stringify(dx1)}`).toBe(true);
      expectSameSession(dx1, dx1Before, 'dx-1');
      // the LAN route now only goes over dx0
      await waitFor('single path via dx0', async () => !(await lanRoute()).includes('dx1'));
    } finally {
      // lift the limit even when an assertion failed, so later tests start from both sessions up
      const back = await api('PUT', '/v1/bgp/neighbors/dx-2', current);
      expect(back.status, back.text).toBe(200);
    }
    // dx-2 comes back, dx-1 is still untouched
    await bothUp();
    expectSameSession(await peer('dx-1'), dx1Before, 'dx-1');
  });

  it('an unchanged rendering does not reconfigure bird or touch the sessions', async () => {
    const before = await bothUp();
    for (const n of before.neighbors) await agePastJitter(n);
    const current = await api('GET', '/v1/config');
    const put = await api('PUT', '/v1/config', current.body);
    expect(put.status, put.text).toBe(200);
    expect(put.body.actions.bgp).toEqual([]);
    const after = await status();
    expect(after.neighbors.map((n) => n.id)).toEqual(before.neighbors.map((n) => n.id));
    after.neighbors.forEach((n, i) => expectSameSession(n, before.neighbors[i], n.id));
  });

  it('the multipath hash sysctl belongs to the BGP configuration: changed by hand, reconcile sets it back', async () => {
    const key = 'net.ipv4.fib_multipath_hash_policy';
    await lab().exec('router', ['sysctl', '-q', '-w', `${key}=0`], { check: true });
    const found = await api('POST', '/v1/reconcile');
    expect(found.body.repaired?.bgp, JSON.stringify(found.body)).toEqual([`sysctl ${key} is 0, configured 1`]);
    expect((await lab().exec('router', ['sysctl', '-n', key], { check: true })).stdout.trim()).toBe('1');
    const again = await api('POST', '/v1/reconcile');
    expect(again.body.repaired?.bgp, JSON.stringify(again.body)).toBeUndefined();
  });

  it('commit-confirm: an unconfirmed BGP change reverts by itself; a confirmed one stays', async () => {
    await bothUp();
    const current = (await api('GET', '/v1/bgp/neighbors/dx-2')).body;
    const trial = await api('PUT', '/v1/bgp/neighbors/dx-2?confirm_timeout=4', { ...current, enabled: false });
    expect(trial.status, trial.text).toBe(200);
    expect(trial.body.actions.bgp.join(' ')).toMatch(/configure timeout 4/);
    await waitFor('dx-2 disabled by the trial', async () => (await peer('dx-2')).state === 'Down', 5_000, 100);
    expect((await api('GET', '/v1/commit')).body.pending_confirm).toMatchObject({ revision: trial.body.revision.id });
    // no confirm: Junction (and BIRD's own configure timeout) go back
    await waitFor('dx-2 back after the automatic revert', async () => (await peer('dx-2')).established, 40_000, 250);
    expect((await api('GET', '/v1/bgp/neighbors/dx-2')).body.enabled).toBeUndefined();
    expect((await peer('dx-1')).established).toBe(true);

    const confirmed = await api('PUT', '/v1/bgp/neighbors/dx-2?confirm_timeout=4', { ...current, hold_time: 60 });
    expect(confirmed.status, confirmed.text).toBe(200);
    const ok = await api('POST', '/v1/commit/confirm');
    expect(ok.status, ok.text).toBe(200);
    await sleep(6000);
    const dx2 = await waitFor('dx-2 up with hold time 60', async () => {
      const n = await peer('dx-2');
      return n.established && n.hold_time === 60 && n;
    }, 30_000);
    expect(dx2.hold_time).toBe(60);
    const drift = await api('POST', '/v1/reconcile');
    expect(drift.body.repaired?.bgp).toBeUndefined();
  });

  it('rejects bad input with 4xx and the path, and the running sessions stay up', async () => {
    const before = await bothUp();
    for (const n of before.neighbors) await agePastJitter(n);
    const post = (body: unknown) => api('POST', '/v1/bgp/neighbors', body);
    const base = { id: 'dx-3', address: op.dxOnprem, remote_asn: ONPREM_ASN, interface: 'dx0' };

    const badAsn = await post({ ...base, remote_asn: 4294967296 });
    expect(badAsn.status).toBe(400);
    expect(JSON.stringify(badAsn.body.problems)).toMatch(/\/bgp\/neighbors\/2\/remote_asn/);

    const badPrefix = await post({ ...base, id: 'dx-3', address: op.dxOnprem, import: { prefixes: [{ prefix: '10.50.0.1/16' }] } });
    expect(badPrefix.status).toBe(422);
    expect(badPrefix.body.problems).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/bgp/neighbors/2/import/prefixes/0/prefix' })]));

    const offLink = await post({ ...base, address: '10.99.0.1', interface: undefined });
    expect(offLink.status).toBe(422);
    expect(offLink.body.problems).toEqual([expect.objectContaining({ path: '/bgp/neighbors/2/address', message: expect.stringMatching(/dx interface/) })]);

    const wrongRole = await post({ ...base, interface: 'vpc0' });
    expect(wrongRole.status).toBe(422);
    expect(JSON.stringify(wrongRole.body.problems)).toMatch(/\/bgp\/neighbors\/2\/interface/);

    const badRouterId = await api('PUT', '/v1/bgp', { asn: 0, router_id: op.dxRouter });
    expect(badRouterId.status).toBe(400);
    expect(JSON.stringify(badRouterId.body.problems)).toMatch(/\/bgp\/asn/);

    const after = await status();
    expect(after.neighbors.map((n) => [n.id, n.established])).toEqual(before.neighbors.map((n) => [n.id, true]));
    after.neighbors.forEach((n, i) => expectSameSession(n, before.neighbors[i], n.id));
  });

  it('soft-resets a neighbor without closing the session, and resets it hard', async () => {
    const before = await peer('dx-1');
    await agePastJitter(before);
    const soft = await api('POST', '/v1/bgp/neighbors/dx-1/soft-reset?direction=in');
    expect(soft.status, soft.text).toBe(200);
    expect(soft.body.bird).toMatch(/reload/i);
    await sleep(1000);
    expectSameSession(await peer('dx-1'), before, 'dx-1 after a soft reset');
    const hard = await api('POST', '/v1/bgp/neighbors/dx-1/reset');
    expect(hard.status, hard.text).toBe(200);
    const after = await waitFor('dx-1 back after the reset', async () => {
      const n = await peer('dx-1');
      return n.established && !sameSession(n, before) && n;
    }, 60_000, 250);
    expect(after.established).toBe(true);
    expectNewSession(after, before, 'dx-1 after a hard reset');
    expect((await api('POST', '/v1/bgp/neighbors/nope/reset')).status).toBe(404);
  });

  it('restarts a killed bird and gets the sessions back', async () => {
    const { bird } = await status();
    process.kill(bird.pid, 'SIGKILL');
    // a restart counts once the new bird answers on its socket
    const back = await waitFor('bird restarted and ready', async () => {
      const s = await status();
      return s.bird.running && s.bird.pid !== bird.pid && s.bird.restarts > 0 && s;
    }, 20_000);
    expect(back.bird.restarts).toBe(1);
    await bothUp();
  });

  it('a Junction killed with SIGKILL comes back and adopts the bird it left: same pid, no session re-established, routes kept', async () => {
    const before = await bothUp();
    for (const n of before.neighbors) await agePastJitter(n);
    junction.process.kill('SIGKILL');
    await junction.process.exited;
    expect(() => process.kill(before.bird.pid, 0), 'the bird Junction left must keep running').not.toThrow();
    junction = await startJunction(lab(), { stateDir: junction.stateDir });
    const s = await bothUp();
    expect(s.bird.pid).toBe(before.bird.pid);
    for (const n of s.neighbors) expectSameSession(n, before.neighbors.find((b) => b.id === n.id)!, `${n.id} across the restart of Junction`);
    expect(multipath(await lanRoute())).toBe(true);
    expect((await api('GET', '/v1/status')).body.reconcile.repaired.bgp).toBeUndefined();
  });

  it('removing the bgp section stops bird and takes its routes out of the kernel', async () => {
    const del = await api('DELETE', '/v1/bgp');
    expect(del.status, del.text).toBe(200);
    expect(del.body.actions.bgp.join(' ')).toMatch(/stop bird/);
    expect((await lab().exec('router', ['ip', 'route', 'show', 'proto', 'bird'], { check: true })).stdout.trim()).toBe('');
    expect((await status()).bird.running).toBe(false);
  });
});
