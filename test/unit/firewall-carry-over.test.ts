// Counters carried over when a run's set is created anew: the same rule
// owning the same full element (source, destination, protocols, ports)
// takes the old element's values, across a renamed anchor and a changed set
// shape; another rule's element, or a changed element, does not.
import { describe, expect, it } from 'vitest';
import { onePolicyConfig } from '../support/one-policy-config.js';
import { compileRuleset, type CompiledRuleset } from '../../rules/index.js';
import type { FirewallRule } from '../../appliance/model/schema.js';
import { tableContent } from '../../appliance/subsystems/firewall/content.js';
import { carriedCounters, carryScript, countedByIdentity, elementIdentity } from '../../appliance/subsystems/firewall/carry-over.js';

const config = onePolicyConfig;
const db: FirewallRule = { id: 'db', action: 'accept', destination: ['10.2.0.11'], services: ['tcp/5432'] };
const web: FirewallRule = { id: 'web', action: 'accept', destination: ['10.2.0.12'], services: ['tcp/443'] };

const owned = (compiled: CompiledRuleset) => ({ ruleCounters: compiled.ruleCounters, elements: tableContent(compiled.nftables).elements });
/** The kernel's listing of `compiled`'s sets, each element counting `packets` (and 100 bytes a packet). */
function listed(compiled: CompiledRuleset, packets: number) {
  const kernel = new Map<string, Map<string, unknown>>();
  for (const [name, elements] of tableContent(compiled.nftables).elements) {
    kernel.set(name, new Map([...elements].map(([line, key]) => [line, { elem: { val: key, counter: { packets, bytes: packets * 100 } } }])));
  }
  return kernel;
}
const names = (compiled: CompiledRuleset) => new Set(compiled.ruleCounters.sets.map((s) => s.name));

describe('element counters carried over to re-created sets', () => {
  it('a rule appended to the run renames its set: the kept rule\'s element takes its values, the new rule\'s starts at 0', () => {
    const before = compileRuleset(config([db]), { flowtable: false });
    const after = compileRuleset(config([db, web]), { flowtable: false });
    expect([...names(before)]).toEqual(['r_db_4dlp']);
    expect([...names(after)]).toEqual(['r_web_4dlp']);
    const values = countedByIdentity(owned(before), listed(before, 3), names(before));
    const carried = carriedCounters(owned(after), names(after), values);
    expect(carried).toEqual([{ set: 'r_web_4dlp', key: { concat: ['10.2.0.11', 6, 5432] }, packets: 3, bytes: 300 }]);
    expect(carryScript('inet', 'junction', carried)).toBe(
      'delete element inet junction r_web_4dlp { 10.2.0.11 . 6 . 5432 }\n' +
      'add element inet junction r_web_4dlp { 10.2.0.11 . 6 . 5432 counter packets 3 bytes 300 }\n',
    );
  });

  it('a changed shape (a rule with a source joins): the same element in the wider key is the same element', () => {
    const before = compileRuleset(config([db]), { flowtable: false });
    const after = compileRuleset(config([db, { ...web, source: ['10.1.0.0/24'] }]), { flowtable: false });
    expect([...names(after)]).toEqual(['r_web_4sdlpi']);
    const carried = carriedCounters(owned(after), names(after), countedByIdentity(owned(before), listed(before, 5), names(before)));
    expect(carried).toEqual([{ set: 'r_web_4sdlpi', key: { concat: [{ prefix: { addr: '0.0.0.0', len: 0 } }, '10.2.0.11', 6, 5432] }, packets: 5, bytes: 500 }]);
  });

  it('another rule owning the element, or a changed element, takes nothing; zero counters are not carried', () => {
    const before = compileRuleset(config([db]), { flowtable: false });
    const renamed = compileRuleset(config([{ ...db, id: 'db2' }]), { flowtable: false });
    expect(carriedCounters(owned(renamed), names(renamed), countedByIdentity(owned(before), listed(before, 3), names(before)))).toEqual([]);
    const otherPort = compileRuleset(config([{ ...db, services: ['tcp/5433'] }, web]), { flowtable: false });
    expect(carriedCounters(owned(otherPort), names(otherPort), countedByIdentity(owned(before), listed(before, 3), names(before)))).toEqual([]);
    expect(countedByIdentity(owned(before), listed(before, 0), names(before)).size).toBe(0);
  });

  it('the identity does not depend on the family dimension or on a full range written out', () => {
    expect(elementIdentity('r_x_4fl', 'x', { concat: ['ipv4', 6] })).toBe(elementIdentity('r_x_4sdlpi', 'x', { concat: [{ prefix: { addr: '0.0.0.0', len: 0 } }, { prefix: { addr: '0.0.0.0', len: 0 } }, 6, { range: [0, 65535] }] }));
    expect(elementIdentity('r_x_4fl', 'x', { concat: ['ipv4', 6] })).not.toBe(elementIdentity('r_x_6fl', 'x', { concat: ['ipv6', 6] }));
    expect(elementIdentity('zone_dispatch', 'x', 'vpc0')).toBeUndefined();
  });
});
