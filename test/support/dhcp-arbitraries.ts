// Generated dhcp sections for property tests: servers on the lab router's
// interfaces (and on ones that are not VPCs or do not exist), ranges and
// reservations drawn from the VPC subnets and just outside them, MACs from
// a small pool so duplicates happen, hostnames, domains, MTUs and a
// forwarder. Many documents are wrong somewhere; the mostly sound servers
// make enough of them right that render and `dnsmasq --test` see real ones.
import fc from 'fast-check';
import { INTERFACE_POOL } from './config-arbitraries.js';

const host = (net: string) => fc.integer({ min: 0, max: 255 }).map((n) => `${net}.${n}`);
/** mostly inside vpc0/vpc1, sometimes elsewhere */
const address = fc.oneof({ weight: 4, arbitrary: host('10.1.0') }, { weight: 2, arbitrary: host('10.2.0') }, { weight: 1, arbitrary: host('10.9.0') });
const mac = fc.integer({ min: 1, max: 12 }).map((n) => `02:00:00:00:0${n % 2 ? 'a' : 'A'}:${n.toString(16).padStart(2, '0')}`);
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const compact = <T extends Record<string, unknown>>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** A server that is mostly sound: ranges inside its interface's subnet in order, reservations above them. */
const soundServer = fc.constantFrom(['vpc0', '10.1.0'], ['vpc1', '10.2.0']).chain(([iface, net]) => fc.record({
  interface: fc.constant(iface),
  dns: optional(fc.boolean()),
  ranges: optional(fc.array(fc.tuple(fc.integer({ min: 2, max: 150 }), fc.integer({ min: 0, max: 40 })).map(([first, size]) => ({ start: `${net}.${first}`, end: `${net}.${first + size}` })), { maxLength: 2 })),
  gateway: optional(fc.oneof(host(net!), fc.constant('none'))),
  dns_servers: optional(fc.array(host(net!), { maxLength: 2 })),
  domain: optional(fc.constantFrom('vpc-a.internal', 'example', 'a-b.c-d.test')),
  lease_time_s: optional(fc.integer({ min: 120, max: 31_536_000 })),
  mtu: optional(fc.integer({ min: 576, max: 1500 })),
  reservations: optional(fc.array(fc.record({ mac, address: fc.integer({ min: 200, max: 254 }).map((n) => `${net}.${n}`), hostname: optional(fc.constantFrom('db', 'web-1', 'x')) }).map(compact), { maxLength: 3 })),
}).map(compact));

const sloppyServer = fc.record({
  interface: fc.constantFrom('vpc0', 'vpc0', 'vpc1', 'ccnn0', 'vpc7'),
  enabled: optional(fc.boolean()),
  dhcp: optional(fc.boolean()),
  dns: optional(fc.boolean()),
  ranges: optional(fc.array(fc.record({ start: address, end: address }), { maxLength: 3 })),
  gateway: optional(fc.oneof(address, fc.constant('none'))),
  dns_servers: optional(fc.array(address, { maxLength: 3 })),
  domain: optional(fc.constantFrom('vpc-a.internal', 'example', 'a-b.c-d.test')),
  lease_time_s: optional(fc.integer({ min: 120, max: 31_536_000 })),
  mtu: optional(fc.integer({ min: 576, max: 9000 })),
  reservations: optional(fc.array(fc.record({ mac, address, hostname: optional(fc.constantFrom('db', 'web-1', 'x')) }).map(compact), { maxLength: 4 })),
}).map(compact);

export const dhcpDocument = fc.record({
  servers: fc.array(fc.oneof({ weight: 3, arbitrary: soundServer }, { weight: 1, arbitrary: sloppyServer }), { maxLength: 3 }),
  dns_forwarder: optional(fc.record({
    upstream_servers: fc.array(fc.constantFrom('198.18.0.2', '2001:db8::53', '10.1.0.1', '192.0.2.1'), { minLength: 1, maxLength: 3 }),
    use_host_resolv_conf: optional(fc.boolean()),
    cache_size: optional(fc.integer({ min: 0, max: 100_000 })),
  }).map(compact)),
}).map((dhcp) => ({
  interfaces: INTERFACE_POOL.map((i) => ({ ...i, addresses: [...i.addresses] })),
  zones: [...new Set(INTERFACE_POOL.map((i) => i.zone))].map((name) => ({ name })),
  dhcp: compact(dhcp),
}));
