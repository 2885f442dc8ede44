// A rule's counter is the sum of the kernel's counters of the set elements
// it owns (the compiler records the owner of every element); the elements
// are matched by key, and a rule that owns no element counts 0.
import { describe, expect, it } from 'vitest';
import { compileRuleset } from '../../rules/index.js';
import { tableContent } from '../../appliance/subsystems/firewall/content.js';
import { sumRuleCounters } from '../../appliance/subsystems/firewall/status.js';
import type { Config } from '../../appliance/model/schema.js';

const config: Config = {
  interfaces: [
    { name: 'vpc0', role: 'vpc', zone: 'a', addresses: ['10.1.0.1/16'] },
    { name: 'vpc1', role: 'vpc', zone: 'b', addresses: ['10.2.0.1/16'] },
  ],
  zones: [{ name: 'a' }, { name: 'b' }],
  firewall: {
    policies: [{
      name: 'a-to-b', from: 'a', to: 'b', rules: [
        { id: 'two-hosts', action: 'accept', destination: ['10.2.0.1', '10.2.0.5'], services: ['tcp/80'] },
        { id: 'shadowed', action: 'accept', destination: ['10.2.0.1'], services: ['tcp/80'] },
        { id: 'web', action: 'accept', destination: ['10.2.0.3'], services: ['tcp/443'] },
      ],
    }],
  },
};

describe('rule counters from per-element counters', () => {
  it('sums each rule\'s elements, by key, whatever order the kernel lists them in', () => {
    const compiled = compileRuleset(config, { flowtable: false });
    const applied = tableContent(compiled.nftables);
    expect(compiled.ruleCounters.sets).toHaveLength(1);
    const { name } = compiled.ruleCounters.sets[0];
    // the kernel's listing: the same elements, reversed, each with its counter values
    const values = [[5, 500], [7, 700], [11, 1100]];
    const listed = [...applied.elements.get(name)!.values()].map((element, i) => ({ elem: { val: element, counter: { packets: values[i][0], bytes: values[i][1] } } })).reverse();
    const setDeclaration = (compiled.nftables.find((c) => (c as { add?: { set?: { name: string } } }).add?.set?.name === name) as { add: { set: object } }).add.set;
    const kernel = tableContent([{ set: { ...setDeclaration, elem: listed } }]);
    const rules = sumRuleCounters({ ruleCounters: compiled.ruleCounters, elements: applied.elements }, kernel.elements);
    expect(rules).toEqual([
      { id: 'two-hosts', policy: 'a-to-b', packets: 12, bytes: 1200 },
      { id: 'shadowed', policy: 'a-to-b', packets: 0, bytes: 0 },
      { id: 'web', policy: 'a-to-b', packets: 11, bytes: 1100 },
    ]);
  });

  it('a set the kernel does not have counts nothing', () => {
    const compiled = compileRuleset(config, { flowtable: false });
    const rules = sumRuleCounters({ ruleCounters: compiled.ruleCounters, elements: tableContent(compiled.nftables).elements }, new Map());
    expect(rules.map((r) => r.packets)).toEqual([0, 0, 0]);
  });
});
