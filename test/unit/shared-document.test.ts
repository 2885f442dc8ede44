// The edit copy of a committed document: its own objects and lists, the
// committed records of record lists shared (the same objects, frozen), and
// a freeze that walks only what is new.
import { describe, expect, it } from 'vitest';
import { documentSchema, type Config } from '../../appliance/model/schema.js';
import { editableCopy, freezeDocument, isDeepFrozen } from '../../appliance/model/shared-document.js';
import { VpnSection } from '../../appliance/subsystems/vpn/schema.js';
import { DhcpSection } from '../../appliance/subsystems/dhcp/schema.js';
import { BgpSection } from '../../appliance/subsystems/bgp/schema.js';

const schema = documentSchema({ vpn: VpnSection, dhcp: DhcpSection, bgp: BgpSection });

function committed(): Config {
  return freezeDocument({
    interfaces: [{ name: 'vpc0', role: 'vpc', zone: 'a', addresses: ['10.1.0.1/24'] }],
    zones: [{ name: 'a' }, { name: 'b' }],
    firewall: { policies: [{ name: 'p', from: 'a', to: 'b', rules: [{ id: 'r1', action: 'accept', services: ['tcp/443'], log: { prefix: 'x' } }, { id: 'r2', action: 'drop' }] }] },
    vpn: { peers: [{ name: 'peer0', remote: '198.51.100.1', auth: { method: 'psk', psk: 'a-very-long-secret-psk' }, tunnels: [{ name: 't0', local_subnets: ['10.1.0.0/24'], remote_subnets: ['10.9.0.0/24'] }] }] },
    dhcp: { servers: [{ interface: 'vpc0' }] },
  } as Config);
}

describe('freezeDocument', () => {
  it('freezes every part, and skips parts already frozen', () => {
    const doc = committed();
    expect(Object.isFrozen(doc.firewall!.policies[0].rules[0].log)).toBe(true);
    const shared = doc.firewall!.policies[0].rules[0];
    const next = { ...doc, zones: [...doc.zones, { name: 'c' }] };
    expect(freezeDocument(next)).toBe(next);
    expect(Object.isFrozen(next.zones[2]) && Object.isFrozen(next.zones)).toBe(true);
    expect(next.firewall!.policies[0].rules[0]).toBe(shared);
  });

  it('knows what it froze as frozen all the way down; a shallow freeze by anyone else is not', () => {
    const doc = committed();
    expect(isDeepFrozen(doc.firewall!.policies[0].rules[0])).toBe(true);
    expect(isDeepFrozen(doc)).toBe(true);
    const shallow = Object.freeze({ id: 'r3', action: 'drop', destination: ['10.0.0.1'] });
    expect(isDeepFrozen(shallow)).toBe(false);
    Object.freeze(shallow.destination);
    expect(isDeepFrozen(shallow)).toBe(true);
    expect(isDeepFrozen({ id: 'r4' })).toBe(false);
    expect(isDeepFrozen('text')).toBe(true);
  });
});

describe('editableCopy', () => {
  it('shares the records of record lists and copies every object and list', () => {
    const doc = committed();
    const copy = editableCopy(schema, doc);
    expect(copy).toEqual(doc);
    // records: shared
    expect(copy.firewall!.policies[0].rules[0]).toBe(doc.firewall!.policies[0].rules[0]);
    expect(copy.zones[1]).toBe(doc.zones[1]);
    expect(copy.interfaces[0]).toBe(doc.interfaces[0]);
    expect(copy.vpn!.peers[0].tunnels[0]).toBe(doc.vpn!.peers[0].tunnels[0]);
    // records holding a list of records, the lists, the sections: copies an edit may change
    expect(copy.firewall!.policies[0]).not.toBe(doc.firewall!.policies[0]);
    expect(Object.isFrozen(copy.firewall!.policies[0].rules)).toBe(false);
    expect(Object.isFrozen(copy.vpn!.peers[0])).toBe(false);
    expect(Object.isFrozen(copy.vpn!.peers[0].auth)).toBe(false);
    expect(Object.isFrozen(copy.dhcp!.servers[0])).toBe(false);
    expect(Object.isFrozen(copy.firewall) || Object.isFrozen(copy)).toBe(false);
  });

  it('an edit of the copy leaves the committed document as it was', () => {
    const doc = committed();
    const before = JSON.stringify(doc);
    const copy = editableCopy(schema, doc);
    copy.firewall!.policies[0].rules.splice(0, 1, { id: 'r0', action: 'reject' });
    copy.vpn!.peers[0].tunnels.push({ name: 't1', local_subnets: ['10.1.0.0/24'], remote_subnets: ['10.8.0.0/24'] });
    copy.dhcp!.servers[0].reservations = [{ mac: '02:00:00:00:00:01', address: '10.1.0.9' }];
    copy.zones.pop();
    delete copy.vpn;
    expect(JSON.stringify(doc)).toBe(before);
  });

  it('copies deeply where the schema says nothing, and an unfrozen list item by item', () => {
    const doc = freezeDocument({ interfaces: [], zones: [], unknown: [{ a: [1] }] } as unknown as Config);
    const copy = editableCopy(schema, doc) as unknown as { unknown: Array<{ a: number[] }> };
    expect(Object.isFrozen(copy.unknown[0]) || Object.isFrozen(copy.unknown[0].a)).toBe(false);
    const open = { interfaces: [], zones: [{ name: 'a' }] } as Config;
    expect(editableCopy(schema, open).zones[0]).not.toBe(open.zones[0]);
  });
});
