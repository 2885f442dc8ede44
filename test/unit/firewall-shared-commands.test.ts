// A recompile that reuses the command objects of everything a change did not
// touch (the same objects, ===) gets the same element maps and plan chunks
// for those sets, so content, plan and delta do work in proportion to the
// change; and what they give is exactly what a batch of fresh copies gives.
import { describe, expect, it } from 'vitest';
import { onePolicyConfig } from '../support/one-policy-config.js';
import { compileRuleset, type CompiledRuleset } from '../../rules/index.js';
import type { FirewallRule } from '../../appliance/model/schema.js';
import { tableContent } from '../../appliance/subsystems/firewall/content.js';
import { nftTransaction } from '../../appliance/subsystems/firewall/delta.js';
import { contentOf, FirewallSubsystem, type FirewallArtifact } from '../../appliance/subsystems/firewall/index.js';
import { subsystemPlan } from '../../appliance/core/plan.js';
import { RecordingCommandRunner } from '../support/recording-runner.js';

const config = onePolicyConfig;
/** 200 rules in runs of 20, alternating drop and accept: ten sets. */
const base: FirewallRule[] = Array.from({ length: 200 }, (_, i) => ({
  id: `r${i}`, action: Math.floor(i / 20) % 2 ? 'accept' : 'drop', destination: [`10.2.${i >> 8}.${i & 255}`], services: [`tcp/${1000 + i}`],
}));
const extra: FirewallRule = { id: 'extra', action: 'drop', destination: ['10.2.9.9'], services: ['tcp/9999'] };

/** `next` with every command equal to one of `previous` replaced by that object, as the compiler's reuse would give it. */
function reusing(previous: CompiledRuleset, next: CompiledRuleset): CompiledRuleset {
  const byJson = new Map(previous.nftables.map((command) => [JSON.stringify(command), command]));
  return { ...next, nftables: next.nftables.map((command) => byJson.get(JSON.stringify(command)) ?? command) };
}
const fresh = (ruleset: CompiledRuleset): CompiledRuleset => structuredClone(ruleset);
const artifact = (ruleset: CompiledRuleset): FirewallArtifact => ({ ruleset, logging: false });
const setSpecs = (ruleset: CompiledRuleset) => new Map(ruleset.nftables.flatMap((c) => {
  const spec = (c as { add?: { set?: { name: string }; map?: { name: string } } }).add;
  const set = spec?.set ?? spec?.map;
  return set ? [[set.name, set] as const] : [];
}));

describe('commands reused by a recompile', () => {
  const before = compileRuleset(config(base), { flowtable: false });
  const cases = [
    { name: 'a rule added at the top', after: compileRuleset(config([extra, ...base]), { flowtable: false }), delta: { verb: 'add', set: 'r_r19_4dlp', key: ['10.2.9.9', 6, 9999] } },
    { name: 'the first rule deleted', after: compileRuleset(config(base.slice(1)), { flowtable: false }), delta: { verb: 'delete', set: 'r_r19_4dlp', key: ['10.2.0.0', 6, 1000] } },
    {
      name: 'a rule added in the middle of a run', after: compileRuleset(config([...base.slice(0, 50), extra, ...base.slice(50)]), { flowtable: false }),
      delta: { verb: 'add', set: 'r_r59_4dlp', key: ['10.2.9.9', 6, 9999] },
    },
  ];

  for (const c of cases) {
    it(`${c.name}: unchanged sets keep their element maps and chunks; content, plan and delta equal those of fresh copies`, () => {
      const after = reusing(before, c.after);
      const firewall = new FirewallSubsystem(new RecordingCommandRunner(), '/nonexistent');
      const [old, next] = [artifact(before), artifact(after)];
      const reusedSets = [...setSpecs(after)].filter(([name, spec]) => setSpecs(before).get(name) === spec).map(([name]) => name);
      expect(reusedSets.length).toBeGreaterThan(5);

      // the content is the content of fresh copies, and shares what it can
      expect(contentOf(next)).toEqual(tableContent(fresh(c.after).nftables));
      for (const name of reusedSets) expect(contentOf(next).elements.get(name)).toBe(contentOf(old).elements.get(name));
      const sharedChunks = firewall.describeChunks(next).filter((chunk) => firewall.describeChunks(old).includes(chunk));
      expect(sharedChunks.map((chunk) => chunk.key)).toEqual(expect.arrayContaining(reusedSets.map((name) => `elements ${name}`)));

      // the plan: as from fresh copies (nothing shared), and as the flat lines say
      const plan = subsystemPlan('firewall', firewall.describeChunks(old), firewall.describeChunks(next));
      const unshared = [artifact(fresh(before)), artifact(fresh(c.after))];
      expect(plan).toEqual(subsystemPlan('firewall', firewall.describeChunks(unshared[0]), firewall.describeChunks(unshared[1])));
      expect(plan).toEqual(subsystemPlan('firewall', [{ key: '', lines: firewall.describe(old) }], [{ key: '', lines: firewall.describe(next) }]));
      expect(plan.added + plan.removed).toBeGreaterThan(0);

      // the delta from the previous content (what the firewall assumes the kernel has after its own apply)
      const delta = nftTransaction(contentOf(old), contentOf(next), after);
      expect(delta).toEqual(nftTransaction(contentOf(unshared[0]), contentOf(unshared[1]), c.after));
      // one element, in the run's set the recompile gave anew (its other sets were not compared)
      expect(delta?.nftables).toEqual([{ [c.delta.verb]: { element: { family: 'inet', table: 'junction', name: c.delta.set, elem: [{ concat: c.delta.key }] } } }]);
    });
  }

  it('elements added to a shared set by a later command change this batch\'s content only', () => {
    const where = { family: 'inet', table: 'junction' };
    const set = { add: { set: { ...where, name: 's', type: 'ipv4_addr', elem: ['10.0.0.1'] } } };
    const alone = tableContent([set]);
    const more = tableContent([set, { add: { element: { ...where, name: 's', elem: ['10.0.0.2'] } } }]);
    expect([...more.elements.get('s')!.keys()]).toEqual(['"10.0.0.1"', '"10.0.0.2"']);
    expect([...alone.elements.get('s')!.keys()]).toEqual(['"10.0.0.1"']);
    expect([...tableContent([set]).elements.get('s')!.keys()]).toEqual(['"10.0.0.1"']);
    // declared twice: the elements add up, and the shared map stays as it was
    const twice = tableContent([set, { add: { set: { ...where, name: 's', type: 'ipv4_addr', elem: ['10.0.0.3'] } } }]);
    expect([...twice.elements.get('s')!.keys()]).toEqual(['"10.0.0.1"', '"10.0.0.3"']);
    expect(tableContent([set]).elements.get('s')).toBe(alone.elements.get('s'));
    expect(alone.elements.get('s')!.size).toBe(1);
  });
});
