// The dhcp section: verify names every bad field by its document path;
// render gives the exact dnsmasq lines (and plan lines) for a document; the
// firewall opens DHCP and DNS only where they are served.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../../appliance/model/schema.js';
import { verifyDhcpConfig } from '../../../appliance/subsystems/dhcp/verify.js';
import { describeDhcp, pathOfDnsmasqError, renderDhcp } from '../../../appliance/subsystems/dhcp/render.js';
import { dhcpSelfServices } from '../../../appliance/subsystems/dhcp/self-services.js';
import type { DhcpSection } from '../../../appliance/subsystems/dhcp/schema.js';

function doc(dhcp: DhcpSection | undefined, mtu?: number): Config {
  return {
    interfaces: [
      { name: 'ccnn0', role: 'ccnn', zone: 'ccnn', addresses: ['100.64.0.2/24'] },
      { name: 'vpc0', role: 'vpc', zone: 'a', addresses: ['10.1.0.1/24'], ...(mtu ? { mtu } : {}) },
      { name: 'vpc1', role: 'vpc', zone: 'b', addresses: ['10.2.0.1/24'] },
      { name: 'vpc2', role: 'vpc', zone: 'b' },
    ],
    zones: [{ name: 'ccnn' }, { name: 'a' }, { name: 'b' }],
    ...(dhcp ? { dhcp } : {}),
  };
}

const vpc0 = { interface: 'vpc0', ranges: [{ start: '10.1.0.100', end: '10.1.0.199' }] };

describe('dhcp verify', () => {
  it('accepts a sound section', () => {
    const problems = verifyDhcpConfig(doc({
      dns_forwarder: { upstream_servers: ['198.18.0.2'] },
      servers: [{ ...vpc0, mtu: 9000, reservations: [{ mac: '02:00:00:00:0a:02', address: '10.1.0.50' }] }, { interface: 'vpc1', dhcp: false }],
    }, 9000));
    expect(problems).toEqual([]);
  });

  it('names each bad field by its document path', () => {
    const problems = verifyDhcpConfig(doc({
      servers: [
        { interface: 'vpc0', dns: true, gateway: '10.9.0.1', ranges: [
          { start: '10.1.0.100', end: '10.1.0.150' },
          { start: '10.1.0.140', end: '10.1.0.160' }, // overlaps the first
          { start: '10.1.0.90', end: '10.1.0.80' }, // reversed
          { start: '10.1.0.1', end: '10.1.0.5' }, // the router's own address
          { start: '10.2.0.10', end: '10.2.0.20' }, // another interface's subnet
          { start: '10.1.0.250', end: '10.1.0.255' }, // broadcast
        ], reservations: [
          { mac: '02:00:00:00:0a:02', address: '10.1.0.120' }, // inside a range
          { mac: '02:00:00:00:0A:02', address: '10.1.0.60' }, // same MAC, other case
          { mac: '02:00:00:00:0a:03', address: '10.1.0.60' }, // same address
          { mac: '02:00:00:00:0a:04', address: '10.3.0.5' }, // outside the subnet
          { mac: '02:00:00:00:0a:05', address: '10.1.0.1' }, // the router
        ] },
        { interface: 'vpc0' }, // duplicate
        { interface: 'ccnn0' }, // not a VPC
        { interface: 'vpc9' }, // unknown
        { interface: 'vpc2' }, // no address
        { interface: 'vpc1', dhcp: false, dns: false },
      ],
    }));
    const at = (path: string) => problems.filter((p) => p.path === path).map((p) => p.message);
    expect(at('/dhcp/servers/0/dns')).toEqual([expect.stringContaining('no DNS forwarder')]);
    expect(at('/dhcp/servers/0/gateway')).toEqual([expect.stringContaining('not in a subnet of vpc0')]);
    expect(at('/dhcp/servers/0/ranges/1')).toEqual([expect.stringContaining('overlaps the range at /dhcp/servers/0/ranges/0')]);
    expect(at('/dhcp/servers/0/ranges/2/end')).toEqual([expect.stringContaining('ends before it starts')]);
    expect(at('/dhcp/servers/0/ranges/3')).toEqual([expect.stringContaining("router's own address on vpc0")]);
    expect(at('/dhcp/servers/0/ranges/4/start')).toEqual([expect.stringContaining('not in a subnet of vpc0')]);
    expect(at('/dhcp/servers/0/ranges/5')).toEqual([expect.stringContaining('network or broadcast')]);
    expect(at('/dhcp/servers/0/reservations/0/address')).toEqual([expect.stringContaining('inside the dynamic range at /dhcp/servers/0/ranges/0')]);
    expect(at('/dhcp/servers/0/reservations/1/mac')).toEqual([expect.stringContaining('already reserved at /dhcp/servers/0/reservations/0')]);
    expect(at('/dhcp/servers/0/reservations/2/address')).toEqual([expect.stringContaining('already reserved at /dhcp/servers/0/reservations/1')]);
    expect(at('/dhcp/servers/0/reservations/3/address')).toEqual([expect.stringContaining('not in a subnet of vpc0')]);
    expect(at('/dhcp/servers/0/reservations/4/address')).toEqual([expect.stringContaining("router's own address")]);
    expect(at('/dhcp/servers/1/interface')).toEqual([expect.stringContaining('duplicate server for interface "vpc0"')]);
    expect(at('/dhcp/servers/2/interface')).toEqual([expect.stringContaining('role ccnn')]);
    expect(at('/dhcp/servers/3/interface')).toEqual([expect.stringContaining('no interface "vpc9"')]);
    expect(at('/dhcp/servers/4/interface')).toEqual([expect.stringContaining('no static IPv4 address')]);
    expect(at('/dhcp/servers/5')).toEqual([expect.stringContaining('serves neither')]);
    expect(problems.every((p) => p.severity !== 'warning')).toBe(true);
  });

  it('refuses a forwarder that would ask itself, and warns when it answers nowhere or the MTU exceeds the link', () => {
    const problems = verifyDhcpConfig(doc({ dns_forwarder: { upstream_servers: ['10.2.0.1'] }, servers: [{ ...vpc0, dns: false, mtu: 9000 }] }, 1500));
    expect(problems).toEqual([
      { path: '/dhcp/servers/0/mtu', message: expect.stringContaining('MTU 1500'), severity: 'warning' },
      { path: '/dhcp/dns_forwarder/upstream_servers/0', message: expect.stringContaining('ask itself') },
      { path: '/dhcp/dns_forwarder', message: expect.stringContaining('answers on no interface'), severity: 'warning' },
    ]);
  });
});

describe('dhcp render', () => {
  it('renders one dnsmasq bound to the served interfaces only, with per-interface options', () => {
    const artifact = renderDhcp(doc({
      dns_forwarder: { upstream_servers: ['198.18.0.2', '2001:db8::53'] },
      servers: [
        { interface: 'vpc1', dhcp: false },
        { ...vpc0, domain: 'vpc-a.internal', lease_time_s: 600, reservations: [{ mac: '02:00:00:00:0A:02', address: '10.1.0.50', hostname: 'db' }] },
      ],
    }, 9000));
    expect(artifact).toMatchObject({ active: true, dhcpInterfaces: ['vpc0'], dnsInterfaces: ['vpc0', 'vpc1'], subnets: [{ interface: 'vpc0', network: '10.1.0.0/24' }] });
    expect(artifact.text.split('\n').slice(1)).toEqual([
      'no-hosts',
      'bind-dynamic',
      'except-interface=lo',
      'dhcp-authoritative',
      'port=53',
      'cache-size=1000',
      'domain-needed',
      'no-resolv',
      'server=198.18.0.2',
      'server=2001:db8::53',
      'interface=vpc0',
      'dhcp-range=10.1.0.100,10.1.0.199,255.255.255.0,600',
      'dhcp-option=tag:vpc0,option:router,10.1.0.1',
      'dhcp-option=tag:vpc0,option:dns-server,10.1.0.1',
      'dhcp-option=tag:vpc0,option:domain-name,vpc-a.internal',
      'dhcp-option=tag:vpc0,option:mtu,9000',
      'dhcp-host=02:00:00:00:0a:02,10.1.0.50,db,600',
      'interface=vpc1',
      'no-dhcp-interface=vpc1',
      '',
    ]);
    expect(describeDhcp(artifact)).toContain('dnsmasq: dhcp-option=tag:vpc0,option:mtu,9000');
    expect(describeDhcp(artifact).some((l) => l.startsWith('dnsmasq: #'))).toBe(false);
    expect(dhcpSelfServices(artifact)).toEqual([
      { id: 'junction:dhcp-server', interfaces: ['vpc0'], protocol: 'udp', ports: [67] },
      { id: 'junction:dns-udp', interfaces: ['vpc0', 'vpc1'], protocol: 'udp', ports: [53] },
      { id: 'junction:dns-tcp', interfaces: ['vpc0', 'vpc1'], protocol: 'tcp', ports: [53] },
    ]);
  });

  it('without a forwarder: no DNS socket, no DNS server offered, explicit gateway, reservations only as a static range', () => {
    const artifact = renderDhcp(doc({ servers: [{ interface: 'vpc0', gateway: '10.1.0.254', reservations: [{ mac: '02:00:00:00:0a:02', address: '10.1.0.50' }] }] }));
    expect(artifact.text).toContain('port=0\nno-resolv\n');
    expect(artifact.text).not.toContain('server=');
    expect(artifact.text).toContain('dhcp-range=10.1.0.0,static,255.255.255.0,3600\n');
    expect(artifact.text).toContain('dhcp-option=tag:vpc0,option:router,10.1.0.254\n');
    expect(artifact.text).toContain('dhcp-option=tag:vpc0,option:dns-server\n');
    expect(artifact.text).not.toContain('option:mtu');
    expect(dhcpSelfServices(artifact).map((s) => s.id)).toEqual(['junction:dhcp-server']);
  });

  it('reads the host resolv.conf only when asked; reordering servers changes nothing; nothing served renders nothing', () => {
    const section: DhcpSection = { dns_forwarder: { upstream_servers: ['198.18.0.2'], use_host_resolv_conf: true }, servers: [{ interface: 'vpc1', dhcp: false }, vpc0] };
    const a = renderDhcp(doc(section));
    expect(a.text).toContain('resolv-file=/etc/resolv.conf\n');
    expect(a.text).not.toContain('no-resolv');
    expect(renderDhcp(doc({ ...section, servers: [...section.servers].reverse() })).text).toBe(a.text);
    expect(renderDhcp(doc({ servers: [{ ...vpc0, enabled: false }] }))).toMatchObject({ active: false, text: '' });
    expect(describeDhcp(renderDhcp(doc(undefined)))).toEqual([]);
  });

  it('maps a dnsmasq error to the server whose line or interface it names', () => {
    const artifact = renderDhcp(doc({ dns_forwarder: { upstream_servers: ['198.18.0.2'] }, servers: [{ interface: 'vpc1', dhcp: false }, vpc0] }));
    const lines = artifact.text.split('\n');
    const rangeLine = lines.findIndex((l) => l.startsWith('dhcp-range=')) + 1;
    expect(pathOfDnsmasqError(artifact, `dnsmasq: bad dhcp-range at line ${rangeLine} of /x/dnsmasq.conf.new`)).toBe('/dhcp/servers/1');
    expect(pathOfDnsmasqError(artifact, `dnsmasq: bad option at line ${lines.indexOf('no-dhcp-interface=vpc1') + 1} of f`)).toBe('/dhcp/servers/0');
    expect(pathOfDnsmasqError(artifact, 'dnsmasq: failed to create listening socket for port 53 on vpc0: Address in use')).toBe('/dhcp/servers/1');
    expect(pathOfDnsmasqError(artifact, 'dnsmasq: bad option at line 3 of f')).toBe('/dhcp');
    expect(pathOfDnsmasqError(artifact, 'dnsmasq: out of memory')).toBe('/dhcp');
  });
});
