// Every edit route works on a copy that shares the committed document's
// frozen records (appliance/model/shared-document.ts): none may change a
// shared record in place (that would throw, a 500), and none may change the
// committed document. Each route runs as a dry run (the edit runs, and the
// whole pipeline after it, on the shared records) and once for real.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { smallConfig, startHarness, type Harness } from './support/harness.js';

/** Every section and list an edit route changes, so each route has something to work on. */
function baseDocument(): Record<string, any> {
  const doc = smallConfig();
  doc.zones.push({ name: 'vpn' });
  doc.objects = { addresses: [{ name: 'web', entries: ['10.2.0.10'] }], services: [{ name: 'https', entries: [{ protocol: 'tcp', ports: [443] }] }] };
  doc.nat = {
    egress: [{ id: 'out', sources: ['vpc-a'], interface: 'ccnn0' }],
    port_forwards: [{ id: 'pf', interface: 'ccnn0', protocol: 'tcp', port: 8443, to_address: '10.1.0.10', to_port: 443 }],
    one_to_one: [{ id: 'one', interface: 'ccnn0', external: '100.64.0.10', internal: '10.1.0.11' }],
  };
  doc.vpn = {
    peers: [{ name: 'peer0', remote: '198.51.100.1', auth: { method: 'psk', psk: 'a-pre-shared-key-of-some-length' }, tunnels: [{ name: 't0', local_subnets: ['10.1.0.0/24'], remote_subnets: ['10.9.0.0/24'] }] }],
  };
  doc.bgp = { asn: 65001, router_id: '10.1.0.1', neighbors: [{ id: 'n1', address: '10.1.0.2', remote_asn: 65002, password: 'md5-secret', multihop: 2, import: { prefixes: [{ prefix: '10.50.0.0/16' }] } }] };
  // a server without ranges or reservations: the reservation route must add the list to it
  doc.dhcp = { servers: [{ interface: 'vpc1' }], dns_forwarder: { upstream_servers: ['198.18.0.2'] } };
  return doc;
}

const CERTIFICATE = readFileSync(new URL('../unit/vpn/fixtures/moon-cert.pem', import.meta.url), 'utf8');

/** One request per edit route: [method, url, body]. */
const EDITS: Array<[string, string, unknown?]> = [
  ['PUT', '/v1/interfaces/vpc1', { name: 'vpc1', role: 'vpc', zone: 'vpc-b', addresses: ['10.2.0.1/24'], mtu: 1400 }],
  ['POST', '/v1/zones', { name: 'extra' }],
  ['PUT', '/v1/zones/vpc-b', { name: 'vpc-b', intra_zone: 'drop' }],
  ['POST', '/v1/objects/addresses', { name: 'db', entries: ['10.2.0.11'] }],
  ['PUT', '/v1/objects/addresses/web', { name: 'web', entries: ['10.2.0.12'] }],
  ['DELETE', '/v1/objects/addresses/web'],
  ['POST', '/v1/objects/services', { name: 'dns', entries: [{ protocol: 'udp', ports: [53] }] }],
  ['PUT', '/v1/objects/services/https', { name: 'https', entries: [{ protocol: 'tcp', ports: [8443] }] }],
  ['DELETE', '/v1/objects/services/https'],
  ['POST', '/v1/firewall/policies', { name: 'b-to-a', from: 'vpc-b', to: 'vpc-a', rules: [] }],
  ['PUT', '/v1/firewall/policies/a-to-b', { name: 'a-to-b', from: 'vpc-a', to: 'vpc-b', default_action: 'drop', rules: [] }],
  ['POST', '/v1/firewall/policies/a-to-b/rules?position=0', { id: 'first', action: 'drop', services: ['tcp/22'] }],
  ['PUT', '/v1/firewall/policies/a-to-b/rules/web', { id: 'web', action: 'accept', services: ['tcp/8443'] }],
  ['DELETE', '/v1/firewall/policies/a-to-b/rules/web'],
  ['DELETE', '/v1/firewall/policies/a-to-b'],
  ['POST', '/v1/nat/egress', { id: 'out2', sources: ['vpc-b'], interface: 'ccnn0' }],
  ['PUT', '/v1/nat/egress/out', { id: 'out', sources: ['vpc-a', 'vpc-b'], interface: 'ccnn0' }],
  ['DELETE', '/v1/nat/egress/out'],
  ['POST', '/v1/nat/port-forwards', { id: 'pf2', interface: 'ccnn0', protocol: 'udp', port: 5000, to_address: '10.1.0.12' }],
  ['PUT', '/v1/nat/port-forwards/pf', { id: 'pf', interface: 'ccnn0', protocol: 'tcp', port: 9443, to_address: '10.1.0.10' }],
  ['DELETE', '/v1/nat/port-forwards/pf'],
  ['POST', '/v1/nat/one-to-one', { id: 'one2', interface: 'ccnn0', external: '100.64.0.11', internal: '10.1.0.13' }],
  ['PUT', '/v1/nat/one-to-one/one', { id: 'one', interface: 'ccnn0', external: '100.64.0.12', internal: '10.1.0.11' }],
  ['DELETE', '/v1/nat/one-to-one/one'],
  ['POST', '/v1/routes/static', { id: 'r2', destination: '192.168.0.0/16', via: '10.1.0.254' }],
  ['PUT', '/v1/routes/static/default', { id: 'default', destination: '0.0.0.0/0', via: '100.64.0.254' }],
  ['DELETE', '/v1/routes/static/default'],
  ['POST', '/v1/vpn/peers', { name: 'peer1', remote: '198.51.100.2', auth: { method: 'psk', psk: 'another-pre-shared-key-here' }, tunnels: [{ name: 't0', local_subnets: ['10.1.0.0/24'], remote_subnets: ['10.8.0.0/24'] }] }],
  ['PUT', '/v1/vpn/peers/peer0', { name: 'peer0', remote: '198.51.100.3', auth: { method: 'psk', psk: '********' }, tunnels: [{ name: 't0', local_subnets: ['10.1.0.0/24'], remote_subnets: ['10.9.0.0/24'] }] }],
  ['POST', '/v1/vpn/peers/peer0/tunnels', { name: 't1', local_subnets: ['10.1.0.0/24'], remote_subnets: ['10.7.0.0/24'] }],
  ['PUT', '/v1/vpn/peers/peer0/tunnels/t0', { name: 't0', local_subnets: ['10.1.0.0/24'], remote_subnets: ['10.6.0.0/24'] }],
  ['POST', '/v1/vpn/certificates', { name: 'ca', certificate: CERTIFICATE }],
  ['DELETE', '/v1/vpn/peers/peer0'],
  ['PUT', '/v1/bgp', { asn: 65010, router_id: '10.1.0.1' }],
  ['POST', '/v1/bgp/neighbors', { id: 'n2', address: '10.1.0.3', remote_asn: 65003, multihop: 2 }],
  ['PUT', '/v1/bgp/neighbors/n1', { id: 'n1', address: '10.1.0.2', remote_asn: 65004, multihop: 2, password: '********' }],
  ['DELETE', '/v1/bgp/neighbors/n1'],
  ['DELETE', '/v1/bgp'],
  ['POST', '/v1/dhcp/servers', { interface: 'vpc0' }],
  ['PUT', '/v1/dhcp/servers/vpc1', { interface: 'vpc1', lease_time_s: 600 }],
  ['POST', '/v1/dhcp/servers/vpc1/reservations', { mac: '02:00:00:00:0a:02', address: '10.2.0.50' }],
  ['PUT', '/v1/dhcp/dns-forwarder', { upstream_servers: ['198.18.0.3'] }],
  ['DELETE', '/v1/dhcp/dns-forwarder'],
  ['DELETE', '/v1/dhcp/servers/vpc1'],
  ['DELETE', '/v1/dhcp'],
  ['PATCH', '/v1/config', { system: { hostname: 'edge' }, zones: [{ name: 'ccnn' }, { name: 'vpc-a' }, { name: 'vpc-b' }, { name: 'vpn' }, { name: 'more' }], nat: { egress: null } }],
  ['PUT', '/v1/config', smallConfig()],
  ['POST', '/v1/revisions/1/rollback'],
];

describe('edit routes on shared, frozen records', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    // Stored directly (the harness's kernel has no charon, bird or dnsmasq to apply to): a dry run needs only the document.
    // Revision 1 differs (the rollback route goes back to it), revision 2 is the base.
    h.appliance.store.commitRevision({ ...baseDocument(), system: { hostname: 'before' } } as never, { author: 'test', comment: '', source: 'api' });
    h.appliance.store.commitRevision(baseDocument() as never, { author: 'test', comment: '', source: 'api' });
  });
  afterEach(async () => h.close());

  const send = (method: string, url: string, body?: unknown) =>
    h.app.inject({ method: method as 'GET', url, headers: h.auth(), ...(body === undefined ? {} : { payload: body as object }) });

  it('every route edits and plans without touching the committed document', async () => {
    const committed = h.appliance.store.currentRevision()!.document;
    const text = JSON.stringify(committed);
    expect(Object.isFrozen(committed.firewall!.policies[0].rules[0])).toBe(true);
    for (const [method, url, body] of EDITS) {
      const answer = await send(method, `${url}${url.includes('?') ? '&' : '?'}dry_run=true`, body);
      expect(answer.statusCode, `${method} ${url}: ${answer.body}`).toBe(200);
      expect(answer.json().plan.counts.configChanges, `${method} ${url} changed nothing`).toBeGreaterThan(0);
      expect(h.appliance.store.currentRevision()!.document).toBe(committed);
      expect(JSON.stringify(committed), `${method} ${url} changed the committed document`).toBe(text);
    }
  });

  it('a commit shares the records it did not change with the revision before it', async () => {
    const doc = smallConfig();
    doc.nat = { port_forwards: [{ id: 'pf', interface: 'ccnn0', protocol: 'tcp', port: 8443, to_address: '10.1.0.10' }] };
    expect((await send('PUT', '/v1/config', doc)).statusCode).toBe(200);
    const before = h.appliance.store.currentRevision()!.document;
    const answer = await send('POST', '/v1/firewall/policies/a-to-b/rules?position=0', { id: 'first', action: 'drop', services: ['tcp/22'] });
    expect(answer.statusCode, answer.body).toBe(201);
    const after = h.appliance.store.currentRevision()!.document;
    expect(after).not.toBe(before);
    expect(after.firewall!.policies[0].rules[1]).toBe(before.firewall!.policies[0].rules[0]);
    expect(after.nat!.port_forwards![0]).toBe(before.nat!.port_forwards![0]);
    expect(after.interfaces[1]).toBe(before.interfaces[1]);
    expect(Object.isFrozen(after.firewall!.policies[0].rules[0])).toBe(true);
    // what the subsystems rendered from (interfaces bound to kernel names) holds the same rule objects, for the compiler's memo
    expect(h.appliance.reconciler.runningConfig()!.firewall!.policies[0].rules[1]).toBe(before.firewall!.policies[0].rules[0]);
  });

  it('every read of the frozen document answers, masks its secrets on a copy, and leaves it as it was', async () => {
    const committed = h.appliance.store.currentRevision()!.document;
    const text = JSON.stringify(committed);
    const reads = ['/v1/config', '/v1/config?format=yaml', '/v1/vpn/peers', '/v1/vpn/peers/peer0', '/v1/bgp', '/v1/bgp/neighbors/n1', '/v1/dhcp', '/v1/dhcp/servers',
      '/v1/firewall/policies/a-to-b/rules', '/v1/revisions/2', '/v1/revisions/2/diff', '/v1/status', '/v1/vpn/peers/peer0/remote-config?format=strongswan&include_secret=false'];
    for (const url of reads) {
      const answer = await send('GET', url);
      expect(answer.statusCode, `${url}: ${answer.body}`).toBe(200);
      for (const secret of ['a-pre-shared-key-of-some-length', 'md5-secret']) expect(answer.body, url).not.toContain(secret);
    }
    expect(h.appliance.store.currentRevision()!.document).toBe(committed);
    expect(JSON.stringify(committed)).toBe(text);
  });
});
