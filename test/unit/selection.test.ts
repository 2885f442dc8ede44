// Interfaces by role (model/selection.ts): which kernel interface each
// configured one gets by name, MAC, attach order or subnet; the problems
// that stop a commit (by document path); and the document rewritten to
// kernel names in every section that references an interface.
import { describe, expect, it } from 'vitest';
import { documentSchema, type Config, type Interface } from '../../appliance/model/schema.js';
import { bindInterfaces, candidates, selectInterfaces, verifyMatches, type BoundInterface, type KernelInterface } from '../../appliance/model/selection.js';
import { VpnSection } from '../../appliance/subsystems/vpn/schema.js';
import { BgpSection } from '../../appliance/subsystems/bgp/schema.js';

/** What a Pod or VM looks like: names the platform chose, in an order of its own. */
const kernel: KernelInterface[] = [
  { name: 'lo', ifindex: 1, mac: '00:00:00:00:00:00', linkType: 'loopback', addresses: ['127.0.0.1/8'] },
  { name: 'eth0', ifindex: 2, mac: '52:54:00:00:00:10', kind: 'veth', linkType: 'ether', addresses: ['100.64.0.2/24'] },
  { name: 'net2', ifindex: 9, mac: '52:54:00:00:00:22', linkType: 'ether', addresses: ['10.2.0.1/24'] },
  { name: 'net1', ifindex: 7, mac: '52:54:00:00:00:21', linkType: 'ether', addresses: ['10.1.0.1/24'] },
  // Junction's own and the host's virtual devices never count
  { name: 'ipsec0', ifindex: 12, kind: 'tun', linkType: 'none', addresses: [] },
  { name: 'br0', ifindex: 13, mac: '52:54:00:00:00:21', kind: 'bridge', linkType: 'ether', addresses: ['10.9.0.1/24'] },
];

const iface = (name: string, extra: Partial<Interface> = {}): Interface => ({ name, role: 'vpc', zone: 'z', ...extra });

describe('selecting interfaces', () => {
  it('counts attach order among physical, veth, macvlan and ipvlan interfaces by ifindex', () => {
    expect(candidates(kernel).map((k) => k.name)).toEqual(['eth0', 'net1', 'net2']);
  });

  it('selects by name, MAC (any case, ":" or "-"), index and subnet', () => {
    const { bindings, problems } = selectInterfaces([
      iface('eth0', { role: 'ccnn' }),
      iface('vpc-a', { match: { mac: '52-54-00-00-00-21'.toUpperCase() } }),
      iface('vpc-b', { match: { index: 2 } }),
    ], kernel);
    expect(problems).toEqual([]);
    expect(bindings).toEqual([
      { index: 0, name: 'eth0', kernel: 'eth0', mac: '52:54:00:00:00:10', by: 'name' },
      { index: 1, name: 'vpc-a', kernel: 'net1', mac: '52:54:00:00:00:21', by: 'mac 52:54:00:00:00:21' },
      { index: 2, name: 'vpc-b', kernel: 'net2', mac: '52:54:00:00:00:22', by: 'index 2' },
    ]);
    const bySubnet = selectInterfaces([iface('vpc-b', { match: { subnet: '10.2.0.0/24' } })], kernel);
    expect(bySubnet.bindings[0]).toMatchObject({ kernel: 'net2', by: 'subnet 10.2.0.0/24' });
  });

  it('needs every criterion to hold', () => {
    const { bindings, problems } = selectInterfaces([iface('vpc-a', { match: { subnet: '10.0.0.0/8', index: 1 } })], kernel);
    expect(problems).toEqual([]);
    expect(bindings[0]).toMatchObject({ kernel: 'net1', by: 'subnet 10.0.0.0/8, index 1' });
    const none = selectInterfaces([iface('vpc-a', { match: { subnet: '10.2.0.0/24', index: 1 } })], kernel);
    expect(none.problems).toEqual([{ path: '/interfaces/0/match', message: expect.stringMatching(/^no interface has subnet 10\.2\.0\.0\/24, index 1 \(candidates in attach order: eth0 \(52:54:00:00:00:10, 100\.64\.0\.2\/24\), net1 /) }]);
  });

  it('a match that finds nothing or several, or an index past the end, is a problem at /interfaces/N/match', () => {
    const { bindings, problems } = selectInterfaces([
      iface('gone', { match: { mac: '02:00:00:00:00:99' } }),
      iface('many', { match: { subnet: '10.0.0.0/8' } }),
      iface('past', { match: { index: 3 } }),
    ], kernel);
    expect(bindings).toEqual([]);
    expect(problems.map((p) => p.path)).toEqual(['/interfaces/0/match', '/interfaces/1/match', '/interfaces/2/match']);
    expect(problems[0].message).toMatch(/^no interface has mac 02:00:00:00:00:99/);
    expect(problems[1].message).toMatch(/^2 interfaces have subnet 10\.0\.0\.0\/8: net1 .*, net2 .*add a criterion/);
    expect(problems[2].message).toMatch(/^no interface has index 3/);
  });

  it('the bridge with the same MAC and the TUN device are never candidates', () => {
    expect(selectInterfaces([iface('x', { match: { subnet: '10.9.0.0/24' } })], kernel).problems).toHaveLength(1);
    expect(selectInterfaces([iface('x', { match: { mac: '52:54:00:00:00:21' } })], kernel).bindings[0].kernel).toBe('net1');
  });

  it('a name without match must exist; the message lists what does', () => {
    const { problems } = selectInterfaces([iface('vpc9')], kernel);
    expect(problems).toEqual([{ path: '/interfaces/0/name', message: 'no interface "vpc9" on this system (found: eth0, net2, net1, ipsec0, br0)' }]);
  });

  it('two configured interfaces cannot be one kernel interface', () => {
    const { problems } = selectInterfaces([iface('net1'), iface('vpc-a', { match: { index: 1 } })], kernel);
    expect(problems).toEqual([{ path: '/interfaces/1/match', message: 'selects net1, which /interfaces/0 (net1) already is' }]);
  });

  it('a selected interface may not take the kernel name of another one', () => {
    const { problems } = selectInterfaces([iface('eth0', { match: { index: 1 } })], kernel);
    expect(problems).toEqual([{ path: '/interfaces/0/name', message: expect.stringContaining('"eth0" is the kernel name of another interface here, but match selects net1') }]);
    // name and match agreeing is fine: the match is a check of the name
    expect(selectInterfaces([iface('net1', { match: { mac: '52:54:00:00:00:21' } })], kernel).problems).toEqual([]);
  });
});

describe('verifying match criteria (no live system)', () => {
  it('rejects a subnet with host bits, a subnet for a DHCP interface, and addresses outside the subnet', () => {
    const problems = verifyMatches([
      iface('a', { match: { subnet: '10.1.0.1/24' }, addresses: ['10.1.0.1/24'] }),
      iface('b', { role: 'ccnn', dhcp: true, match: { subnet: '100.64.0.0/24' } }),
      iface('c', { match: { subnet: '10.3.0.0/24' }, addresses: ['10.4.0.1/24'] }),
      iface('d', { match: { subnet: '10.5.0.0/16' }, addresses: ['10.5.1.1/24'] }),
    ]);
    expect(problems).toEqual([
      { path: '/interfaces/0/match/subnet', message: '"10.1.0.1/24" has host bits set; the network is 10.1.0.0/24' },
      { path: '/interfaces/1/match/subnet', message: expect.stringContaining('select a DHCP interface by mac or index') },
      { path: '/interfaces/2/match/subnet', message: expect.stringContaining('none of this interface\'s addresses (10.4.0.1/24) is in 10.3.0.0/24') },
    ]);
  });
});

describe('binding the document to kernel names', () => {
  const schema = documentSchema({ vpn: VpnSection, bgp: BgpSection });
  const doc = (): Config => ({
    interfaces: [
      { name: 'ccnn', role: 'ccnn', zone: 'ccnn', match: { index: 0 }, addresses: ['100.64.0.2/24'] },
      { name: 'vpc-a', role: 'vpc', zone: 'vpc-a', match: { mac: '52:54:00:00:00:21' }, addresses: ['10.1.0.1/24'] },
      { name: 'dx', role: 'dx', zone: 'dx', match: { subnet: '10.2.0.0/24' }, addresses: ['10.2.0.1/24'] },
    ],
    // a zone with the same name as an interface: not an interface reference, never renamed
    zones: [{ name: 'ccnn' }, { name: 'vpc-a' }, { name: 'dx' }],
    nat: {
      egress: [{ id: 'out', sources: ['vpc-a'], interface: 'ccnn' }],
      port_forwards: [{ id: 'web', interface: 'ccnn', protocol: 'tcp', port: 8000, to_address: '10.1.0.11' }],
      one_to_one: [{ id: 'o', interface: 'ccnn', external: '100.64.0.9', internal: '10.1.0.12' }],
    },
    routes: { static: [{ id: 'r', destination: '10.8.0.0/16', via: '10.1.0.254', interface: 'vpc-a' }] },
    vpn: { peers: [{ name: 'site', remote_address: '198.18.0.9', local_interface: 'ccnn', auth: { psk: 'x'.repeat(20) }, tunnels: [{ name: 't', local_subnets: ['10.1.0.0/24'], remote_subnets: ['10.8.0.0/16'] }] }] } as never,
    bgp: { asn: 65000, neighbors: [{ id: 'n', address: '10.2.0.2', remote_asn: 65001, interface: 'dx' }] } as never,
  });

  it('rewrites every interface reference, core and subsystem sections alike, and marks what match selected', () => {
    const config = doc();
    const { bindings, problems } = selectInterfaces(config.interfaces, kernel);
    expect(problems).toEqual([]);
    const bound = bindInterfaces(schema, config, bindings) as Config & Record<string, any>;
    expect(bound.interfaces.map((i) => i.name)).toEqual(['eth0', 'net1', 'net2']);
    expect((bound.interfaces[1] as BoundInterface).selected).toEqual({ as: 'vpc-a', by: 'mac 52:54:00:00:00:21', mac: '52:54:00:00:00:21' });
    expect(bound.zones.map((z) => z.name)).toEqual(['ccnn', 'vpc-a', 'dx']);
    expect(bound.interfaces.map((i) => i.zone)).toEqual(['ccnn', 'vpc-a', 'dx']);
    expect(bound.nat?.egress?.[0]).toMatchObject({ interface: 'eth0', sources: ['vpc-a'] });
    expect(bound.nat?.port_forwards?.[0].interface).toBe('eth0');
    expect(bound.nat?.one_to_one?.[0].interface).toBe('eth0');
    expect(bound.routes?.static[0].interface).toBe('net1');
    expect(bound.vpn?.peers[0].local_interface).toBe('eth0');
    expect(bound.bgp?.neighbors[0].interface).toBe('net2');
    // the stored document is untouched, and untouched sections are shared, not copied
    expect(config.nat?.egress?.[0].interface).toBe('ccnn');
    expect(bound.zones).toBe(config.zones);
  });

  it('is the document itself when every interface is named by its kernel name', () => {
    const config: Config = { interfaces: [{ name: 'net1', role: 'vpc', zone: 'z' }], zones: [{ name: 'z' }] };
    const { bindings } = selectInterfaces(config.interfaces, kernel);
    expect(bindInterfaces(schema, config, bindings)).toBe(config);
  });
});
