// The VPN section's pure stages: verify names every problem by its path;
// render turns the document into byte-stable VICI messages.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../appliance/model/schema.js';
import { NO_CAPABILITIES } from '../../../appliance/platform/capabilities.js';
import { verifyVpn } from '../../../appliance/subsystems/vpn/verify.js';
import { describeVpn, renderVpn, vpnZoneMembers } from '../../../appliance/subsystems/vpn/render.js';
import { encodeMessage, ViciSection } from '../../../appliance/subsystems/vpn/vici/codec.js';
import { proposalProblem, espProposalsWithPfs } from '../../../appliance/subsystems/vpn/proposals.js';
import { ikeSelfServices } from '../../../appliance/subsystems/vpn/self-services.js';
import { compileRuleset } from '../../../rules/index.js';

const PSK = 'unit-test-psk-0123456789';

function doc(peers: unknown[], extra: Partial<Config> = {}): Config {
  return {
    interfaces: [
      { name: 'ccnn0', role: 'ccnn', zone: 'ccnn', addresses: ['100.64.0.2/24'] },
      { name: 'vpc0', role: 'vpc', zone: 'vpc-a', addresses: ['10.1.0.1/24'] },
      { name: 'vpc1', role: 'vpc', zone: 'vpc-b', addresses: ['10.2.0.1/24'] },
    ],
    zones: [{ name: 'ccnn' }, { name: 'vpc-a' }, { name: 'vpc-b' }, { name: 'vpn' }],
    vpn: { peers: peers as never },
    ...extra,
  };
}

const sitePeer = {
  name: 'onprem',
  remote: '198.18.1.2',
  auth: { method: 'psk', psk: PSK },
  dpd_delay_s: 2,
  tunnels: [
    { name: 'lan', local_subnets: ['10.1.0.0/24'], remote_subnets: ['192.168.50.0/24'] },
    { name: 'multi', local_subnets: ['10.2.0.0/24'], remote_subnets: ['192.168.60.0/24', '192.168.61.0/24'], pfs: false, start_action: 'none' },
  ],
};

const paths = (config: Config) => verifyVpn(config, NO_CAPABILITIES).map((p) => p.path);

describe('vpn verify', () => {
  it('accepts a good document', () => {
    expect(verifyVpn(doc([sitePeer]), NO_CAPABILITIES)).toEqual([]);
  });

  it('names duplicate peers and tunnels', () => {
    const dup = { ...sitePeer, remote: '198.18.1.3', tunnels: [sitePeer.tunnels[0], sitePeer.tunnels[0]] };
    expect(paths(doc([sitePeer, dup]))).toEqual(expect.arrayContaining(['/vpn/peers/1/name', '/vpn/peers/1/tunnels/1/name']));
  });

  it('checks proposal keywords and structure', () => {
    expect(proposalProblem('aes256gcm16-prfsha384-ecp384', 'ike')).toBeUndefined();
    expect(proposalProblem('aes256-sha256-modp2048', 'ike', 1)).toBeUndefined();
    expect(proposalProblem('aes999-sha256-modp2048', 'ike')).toMatch(/unknown algorithm keyword "aes999"/);
    expect(proposalProblem('aes256gcm16-ecp384', 'ike')).toMatch(/needs a PRF/);
    expect(proposalProblem('aes256-sha256', 'ike')).toMatch(/DH group/);
    expect(proposalProblem('aes256', 'esp')).toMatch(/integrity/);
    expect(proposalProblem('aes256gcm16-sha256', 'esp')).toMatch(/AEAD/);
    expect(proposalProblem('aes256gcm16-prfsha256-ecp256', 'ike', 1)).toMatch(/IKEv1/);
    for (const [dh] of [['modp2048'], ['ecp256'], ['ecp384'], ['ecp521']]) expect(proposalProblem(`aes128-sha256-${dh}`, 'esp')).toBeUndefined();
    const bad = { ...sitePeer, ike_proposals: ['aes256-sha256-modp2048', 'aes999-sha1-modp1024'], tunnels: [{ ...sitePeer.tunnels[0], esp_proposals: ['aes128-prfsha256'] }] };
    expect(paths(doc([bad]))).toEqual(['/vpn/peers/0/ike_proposals/1', '/vpn/peers/0/tunnels/0/esp_proposals/0']);
  });

  it('keeps local selectors inside vpc/dx subnets and remote selectors off our own', () => {
    const bad = { ...sitePeer, tunnels: [{ name: 'x', local_subnets: ['172.31.0.0/24', '100.64.0.0/24'], remote_subnets: ['10.2.0.0/16'] }] };
    expect(paths(doc([bad]))).toEqual(['/vpn/peers/0/tunnels/0/local_subnets/0', '/vpn/peers/0/tunnels/0/local_subnets/1', '/vpn/peers/0/tunnels/0/remote_subnets/0']);
  });

  it('requires the vpn zone, an existing local interface, and certificates that exist', () => {
    const certPeer = { ...sitePeer, local_interface: 'eth9', auth: { method: 'cert', certificate: 'mine', ca: 'their-ca' } };
    const config = doc([certPeer]);
    config.zones = config.zones.filter((z) => z.name !== 'vpn');
    expect(paths(config)).toEqual(['/zones', '/vpn/peers/0/local_interface', '/vpn/peers/0/auth/certificate', '/vpn/peers/0/auth/ca']);
  });

  it('says plainly that IKEv1 negotiates one subnet pair per tunnel', () => {
    const v1 = { ...sitePeer, ike_version: 1, tunnels: [sitePeer.tunnels[1]] };
    const problems = verifyVpn(doc([v1]), NO_CAPABILITIES);
    expect(problems).toEqual([{ path: '/vpn/peers/0/tunnels/0/remote_subnets', message: expect.stringMatching(/IKEv1 negotiates one subnet pair/) }]);
  });

  it('refuses a forced kernel data plane without XFRM ESP', () => {
    expect(paths(doc([sitePeer], { vpn: { dataplane: 'xfrm', peers: [sitePeer as never] } }))).toEqual(['/vpn/dataplane']);
  });
});

describe('vpn render', () => {
  it('is deterministic and byte-stable', () => {
    const a = renderVpn(doc([sitePeer]), NO_CAPABILITIES);
    const b = renderVpn(structuredClone(doc([sitePeer])), NO_CAPABILITIES);
    const bytes = (x: typeof a) => Buffer.concat(x.connections.map((c) => encodeMessage(c.config))).toString('hex');
    expect(bytes(a)).toBe(bytes(b));
    expect(a.connections[0]!.ikeDigest).toBe(b.connections[0]!.ikeDigest);
  });

  it('renders load-conn in swanctl order with defaults, PFS and ids', () => {
    const artifact = renderVpn(doc([sitePeer]), NO_CAPABILITIES);
    expect(artifact.dataplane.dataplane).toBe('libipsec');
    expect(artifact.tunnelInterface).toBe('ipsec0');
    expect(artifact.charon).toEqual({ dataplane: 'libipsec', installRoutes: true, routingTable: 220 });
    const conn = artifact.connections[0]!.config;
    expect(conn.keys()).toEqual(['version', 'local_addrs', 'remote_addrs', 'proposals', 'rekey_time', 'dpd_delay', 'mobike', 'local', 'remote', 'children']);
    expect(conn.get('proposals')).toEqual(['aes256gcm16-prfsha384-ecp384', 'aes128gcm16-prfsha256-ecp256', 'aes256-sha256-modp2048']);
    expect(conn.get('local_addrs')).toEqual(['100.64.0.2']);
    const local = conn.get('local') as never as { get(k: string): unknown };
    const remote = conn.get('remote') as never as { get(k: string): unknown };
    expect(local.get('id')).toBe('100.64.0.2');
    expect(remote.get('id')).toBe('198.18.1.2');
    const children = conn.get('children') as never as { keys(): string[]; get(k: string): { get(k: string): unknown } };
    expect(children.keys()).toEqual(['lan', 'multi']);
    expect(children.get('lan').get('esp_proposals')).toEqual(['aes256gcm16-ecp256', 'aes128gcm16-ecp256', 'aes256-sha256-modp2048']);
    expect(children.get('multi').get('esp_proposals')).toEqual(['aes256gcm16', 'aes128gcm16', 'aes256-sha256']);
    expect(children.get('multi').get('remote_ts')).toEqual(['192.168.60.0/24', '192.168.61.0/24']);
    expect(children.get('multi').get('start_action')).toBe('none');
    expect(artifact.secrets).toEqual([{ id: 'psk-onprem', type: 'IKE', data: PSK, owners: ['100.64.0.2', '198.18.1.2'], path: '/vpn/peers/0/auth/psk' }]);
  });

  it('appends the IKE DH group to ESP proposals without one when pfs is on', () => {
    expect(espProposalsWithPfs(['aes256-sha256', 'aes128gcm16-ecp256'], true, 'modp2048')).toEqual(['aes256-sha256-modp2048', 'aes128gcm16-ecp256']);
  });

  it('changing one tunnel changes only its child digest (charon updates it in place)', () => {
    const before = renderVpn(doc([sitePeer]), NO_CAPABILITIES).connections[0]!;
    const changed = structuredClone(sitePeer);
    changed.tunnels[1]!.remote_subnets = ['192.168.60.0/24'];
    const after = renderVpn(doc([changed]), NO_CAPABILITIES).connections[0]!;
    expect(after.ikeDigest).toBe(before.ikeDigest);
    expect(after.childDigests.lan).toBe(before.childDigests.lan);
    expect(after.childDigests.multi).not.toBe(before.childDigests.multi);
  });

  it('kernel data plane: xfrm0 with if_id, routes via xfrm0, no charon routes', () => {
    const artifact = renderVpn(doc([sitePeer]), { ...NO_CAPABILITIES, xfrmEsp: true });
    expect(artifact.tunnelInterface).toBe('xfrm0');
    expect(artifact.charon.installRoutes).toBe(false);
    expect(artifact.xfrmInterface).toEqual({ name: 'xfrm0', ifId: 42, underlying: 'ccnn0' });
    expect(artifact.routes.map((r) => r.destination)).toEqual(['192.168.50.0/24', '192.168.60.0/24', '192.168.61.0/24']);
  });

  it('never puts a secret into the plan, but shows plainly that one changed', () => {
    const lines = describeVpn(renderVpn(doc([sitePeer]), NO_CAPABILITIES));
    expect(lines.join('\n')).not.toContain(PSK);
    expect(lines).toContainEqual(expect.stringMatching(/^shared secret psk-onprem: type IKE, owners 100\.64\.0\.2,198\.18\.1\.2, value <secret, keyed digest [0-9a-f]{16}>$/));
    const other = describeVpn(renderVpn(doc([{ ...sitePeer, auth: { method: 'psk', psk: `${PSK}-other` } }]), NO_CAPABILITIES));
    expect(other.filter((l) => !lines.includes(l))).toEqual([expect.stringMatching(/^shared secret psk-onprem: .* value <secret, keyed digest/)]);
    expect(describeVpn(renderVpn(doc([sitePeer]), NO_CAPABILITIES))).toEqual(lines);
  });

  it('describes every key charon is given, per connection and child, so any change shows in the plan', () => {
    const lines = describeVpn(renderVpn(doc([sitePeer]), NO_CAPABILITIES));
    const artifact = renderVpn(doc([sitePeer]), NO_CAPABILITIES);
    const conn = artifact.connections[0]!;
    const children = conn.config.get('children') as ViciSection;
    const childKeys = children.entries.flatMap(([name, child]) => (child as ViciSection).entries.map(([key]) => `conn onprem child ${name}: ${key} = `));
    for (const prefix of childKeys) expect(lines.some((l) => l.startsWith(prefix)), prefix).toBe(true);
    const ikeKeys = conn.config.entries.filter(([key]) => key !== 'children').flatMap(([key, value]) =>
      value instanceof ViciSection ? value.entries.map(([inner]) => `conn onprem: ${key}.${inner} = `) : [`conn onprem: ${key} = `]);
    for (const prefix of ikeKeys) expect(lines.some((l) => l.startsWith(prefix)), prefix).toBe(true);
    const longer = describeVpn(renderVpn(doc([{ ...sitePeer, dpd_delay_s: 20 }]), NO_CAPABILITIES));
    expect(longer.filter((l) => !lines.includes(l))).toEqual(['conn onprem: dpd_delay = 20s']);
  });

  it('puts the tunnel interface into the vpn zone and opens IKE on the local interface', () => {
    const config = doc([sitePeer], {
      firewall: { policies: [{ name: 'a-to-vpn', from: 'vpc-a', to: 'vpn', rules: [{ id: 'all', action: 'accept' }] }, { name: 'vpn-to-a', from: 'vpn', to: 'vpc-a', rules: [] }] },
    });
    expect(vpnZoneMembers(config, NO_CAPABILITIES)).toEqual([{ name: 'ipsec0', zone: 'vpn' }]);
    const services = ikeSelfServices(config);
    expect(services).toEqual([
      { id: 'junction:ike-ccnn0', interfaces: ['ccnn0'], protocol: 'udp', ports: [500, 4500], notrack: true, sources: ['198.18.1.2'] },
      { id: 'junction:esp-ccnn0', interfaces: ['ccnn0'], protocol: 'esp', notrack: true, sources: ['198.18.1.2'] },
    ]);
    const text = JSON.stringify(compileRuleset(config, { flowtable: false, selfServices: services, zoneMembers: vpnZoneMembers(config, NO_CAPABILITIES) }).nftables);
    expect(text).toContain('{"concat":["vpc0","ipsec0"]},{"jump":{"target":"pol_a-to-vpn"}}');
    expect(text).toContain('{"concat":["ipsec0","vpc0"]},{"jump":{"target":"pol_vpn-to-a"}}');
  });
});

describe('vpn verify, libipsec routing', () => {
  it('wants a router address inside each local subnet (charon needs a route source there)', () => {
    const peer = { ...sitePeer, tunnels: [{ name: 'x', local_subnets: ['10.1.0.128/25'], remote_subnets: ['192.168.70.0/24'] }] };
    expect(paths(doc([peer]))).toEqual(['/vpn/peers/0/tunnels/0/local_subnets/0']);
    expect(verifyVpn(doc([peer]), { ...NO_CAPABILITIES, xfrmEsp: true })).toEqual([]);
  });
});
