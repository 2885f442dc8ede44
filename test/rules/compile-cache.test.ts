// A compile with a cache (rules/compile-cache.ts) must give exactly what a
// compile without one gives, whatever the edits between compiles: random
// edit sequences (insert one or two rules, delete, replace, move, toggle log
// or enabled, change an address or service object, a policy's default or
// name) that share the unchanged, frozen objects with the document before,
// as the store's edit copies do. And the point of the cache: an insert into
// a big policy reuses the commands of the runs it did not touch, as the same
// objects.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Config, FirewallPolicy, FirewallRule } from '../../appliance/model/schema.js';
import { CompileCache, CompileError, compileRuleset, type CompileOptions } from '../../rules/index.js';
import { fuzzParameters } from '../support/config-arbitraries.js';

const OPTIONS: CompileOptions = { flowtable: false };

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** What a compile gives: the ruleset, or the problems it was refused with. */
function outcome(config: Config, cache?: CompileCache): unknown {
  try {
    const { nftables, origins, ruleCounters, stats } = compileRuleset(config, OPTIONS, cache);
    return { nftables, origins, ruleCounters, stats };
  } catch (error) {
    if (error instanceof CompileError) return { problems: error.problems };
    throw error;
  }
}

// Small address and port spaces, so rules overlap, shadow and split runs.
const ADDRESS_OBJECTS = ['web', 'db', 'grp'];
const SERVICE_OBJECTS = ['https', 'dns'];
const address = fc.oneof(
  { weight: 40, arbitrary: fc.integer({ min: 0, max: 7 }).map((h) => `10.2.0.${h}`) },
  { weight: 20, arbitrary: fc.integer({ min: 0, max: 1 }).map((h) => `10.2.0.${h * 4}/30`) },
  { weight: 10, arbitrary: fc.integer({ min: 0, max: 3 }).map((h) => `2001:db8:2::${h}`) },
  { weight: 20, arbitrary: fc.constantFrom(...ADDRESS_OBJECTS) },
  // hosts that rarely meet: runs of disjoint rules, where inserts, deletes, replaces and moves are spliced
  { weight: 100, arbitrary: fc.integer({ min: 0, max: 4095 }).map((h) => `10.3.${h >> 8}.${h & 255}`) },
  // a name nothing defines: the compile is refused, and must be refused the same way with a cache
  // (rare: a refused compile leaves the cache as it was, so most documents should compile)
  { weight: 1, arbitrary: fc.constant('nowhere') },
);
const service = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 20, max: 23 }).map((p) => `tcp/${p}`) },
  { weight: 1, arbitrary: fc.constantFrom('udp/53', 'icmp', 'tcp') },
  { weight: 2, arbitrary: fc.constantFrom(...SERVICE_OBJECTS) },
);
const list = <T>(arb: fc.Arbitrary<T>) => fc.option(fc.array(arb, { minLength: 1, maxLength: 2 }), { nil: undefined, freq: 3 });
const draft = fc.record({
  // mostly accept: long runs, where rules are spliced in and out
  action: fc.constantFrom('accept', 'accept', 'accept', 'accept', 'drop', 'reject') as fc.Arbitrary<FirewallRule['action']>,
  source: list(fc.constantFrom('10.1.0.1', '10.1.0.0/24', 'web')),
  destination: fc.option(fc.array(address, { minLength: 1, maxLength: 2 }), { nil: undefined, freq: 10 }),
  services: list(service),
  log: fc.oneof({ weight: 18, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant({ prefix: 'seen', rate_per_minute: 5 }) }),
  enabled: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(false) }),
});
type Draft = typeof draft extends fc.Arbitrary<infer T> ? T : never;

let nextId = 0;
function rule(d: Draft): FirewallRule {
  const r: Record<string, unknown> = { id: `r${nextId++}`, action: d.action };
  for (const key of ['source', 'destination', 'services', 'log', 'enabled'] as const) if (d[key] !== undefined) r[key] = d[key];
  return r as unknown as FirewallRule;
}

const addressEntries = fc.array(fc.integer({ min: 0, max: 7 }).map((h) => `10.2.0.${h}`), { minLength: 1, maxLength: 3 });
const serviceEntries = fc.array(fc.integer({ min: 20, max: 23 }), { minLength: 1, maxLength: 2 }).map((ports) => [{ protocol: 'tcp' as const, ports }]);

type Edit =
  | { kind: 'insert'; policy: number; at: number; rule: Draft }
  | { kind: 'insert-two'; policy: number; at: number; rules: [Draft, Draft] }
  | { kind: 'delete' | 'toggle-log' | 'toggle-enabled'; policy: number; at: number }
  | { kind: 'replace'; policy: number; at: number; rule: Draft }
  | { kind: 'move'; policy: number; at: number; to: number }
  | { kind: 'address-object'; object: number; entries: string[] }
  | { kind: 'service-object'; object: number; entries: Array<{ protocol: 'tcp'; ports: number[] }> }
  | { kind: 'default'; policy: number; action: 'accept' | 'drop' | 'reject'; log: boolean }
  | { kind: 'rename'; policy: number }
  | { kind: 'nothing' };

const at = fc.nat(1000);
const policyIndex = fc.nat(1);
const edit: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('insert' as const), policy: policyIndex, at, rule: draft }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert-two' as const), policy: policyIndex, at, rules: fc.tuple(draft, draft) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), policy: policyIndex, at }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('replace' as const), policy: policyIndex, at, rule: draft }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('move' as const), policy: policyIndex, at, to: at }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('toggle-log' as const), policy: policyIndex, at }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('toggle-enabled' as const), policy: policyIndex, at }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('address-object' as const), object: fc.nat(1), entries: addressEntries }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('service-object' as const), object: fc.nat(1), entries: serviceEntries }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('default' as const), policy: policyIndex, action: fc.constantFrom('accept', 'drop', 'reject') as fc.Arbitrary<'accept' | 'drop' | 'reject'>, log: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rename' as const), policy: policyIndex }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'nothing' as const }) },
);

function initial(drafts: [Draft[], Draft[]]): Config {
  return deepFreeze({
    interfaces: [
      { name: 'vpc0', role: 'vpc', zone: 'a', addresses: ['10.1.0.1/16'] },
      { name: 'vpc1', role: 'vpc', zone: 'b', addresses: ['10.2.0.1/16'] },
    ],
    zones: [{ name: 'a' }, { name: 'b' }],
    objects: {
      addresses: [
        { name: 'web', entries: ['10.2.0.1', '10.2.0.2'] },
        { name: 'db', entries: ['10.2.0.5'] },
        { name: 'grp', members: ['web', 'db'] },
      ],
      services: [
        { name: 'https', entries: [{ protocol: 'tcp', ports: [22] }] },
        { name: 'dns', entries: [{ protocol: 'udp', ports: [53] }, { protocol: 'tcp', ports: [53] }] },
      ],
    },
    firewall: {
      policies: [
        { name: 'a-to-b', from: 'a', to: 'b', default_action: 'drop', rules: drafts[0].map(rule) },
        { name: 'b-to-a', from: 'b', to: 'a', default_action: 'accept', rules: drafts[1].map(rule) },
      ],
    },
  } as Config);
}

/** The document after one edit: new objects along the path to the change, the rest shared (and frozen). */
function applyEdit(config: Config, e: Edit): Config {
  const policies = config.firewall!.policies;
  // As the store's edit copies do: the objects section and its lists copied, their items shared.
  const objects = config.objects && Object.fromEntries(Object.entries(config.objects).map(([key, list]) => [key, Array.isArray(list) ? [...list] : list]));
  const withPolicy = (index: number, change: (p: FirewallPolicy) => FirewallPolicy): Config =>
    deepFreeze({ ...config, ...(objects ? { objects } : {}), firewall: { ...config.firewall!, policies: policies.map((p, i) => (i === index ? change(p) : p)) } });
  const withRules = (index: number, change: (rules: FirewallRule[]) => FirewallRule[]) => withPolicy(index, (p) => ({ ...p, rules: change([...p.rules]) }));
  switch (e.kind) {
    case 'insert':
      return withRules(e.policy, (rules) => { rules.splice(e.at % (rules.length + 1), 0, rule(e.rule)); return rules; });
    case 'insert-two':
      return withRules(e.policy, (rules) => { rules.splice(e.at % (rules.length + 1), 0, ...e.rules.map(rule)); return rules; });
    case 'delete':
      return withRules(e.policy, (rules) => { if (rules.length) rules.splice(e.at % rules.length, 1); return rules; });
    case 'replace':
      // same id, new content (an edit of one rule)
      return withRules(e.policy, (rules) => { if (rules.length) { const i = e.at % rules.length; rules[i] = { ...rule(e.rule), id: rules[i].id }; } return rules; });
    case 'move':
      return withRules(e.policy, (rules) => { if (rules.length) { const [r] = rules.splice(e.at % rules.length, 1); rules.splice(e.to % (rules.length + 1), 0, r); } return rules; });
    case 'toggle-log':
    case 'toggle-enabled': {
      const key = e.kind === 'toggle-log' ? 'log' : 'enabled';
      return withRules(e.policy, (rules) => {
        if (!rules.length) return rules;
        const i = e.at % rules.length;
        const { [key]: old, ...rest } = rules[i];
        rules[i] = (key === 'log' ? (old ? rest : { ...rest, log: true }) : (old === false ? rest : { ...rest, enabled: false })) as FirewallRule;
        return rules;
      });
    }
    case 'address-object':
    case 'service-object': {
      const objects = config.objects!;
      if (e.kind === 'address-object') {
        return deepFreeze({ ...config, objects: { ...objects, addresses: objects.addresses!.map((o, i) => (i === e.object ? { name: o.name, entries: e.entries } : o)) } });
      }
      return deepFreeze({ ...config, objects: { ...objects, services: objects.services!.map((o, i) => (i === e.object ? { name: o.name, entries: e.entries } : o)) } });
    }
    case 'default':
      return withPolicy(e.policy, (p) => ({ ...p, default_action: e.action, log_default: e.log }));
    case 'rename':
      return withPolicy(e.policy, (p) => ({ ...p, name: p.name.endsWith('-x') ? p.name.slice(0, -2) : `${p.name}-x` }));
    case 'nothing':
      return config;
  }
}

/** The bench's shape: blocks of 1000 rules alternating drop and accept, one host and one port each. */
function bigPolicy(n: number): FirewallRule[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `big-${i}`,
    action: Math.floor(i / 1000) % 2 === 0 ? 'drop' : 'accept',
    destination: [`172.16.${(i >> 8) & 255}.${i & 255}`],
    services: [`tcp/${10000 + (i % 5000)}`],
  }) as FirewallRule);
}
const onePolicy = (rules: FirewallRule[]): Config => deepFreeze({
  interfaces: [
    { name: 'vpc0', role: 'vpc', zone: 'a', addresses: ['10.1.0.1/16'] },
    { name: 'vpc1', role: 'vpc', zone: 'b', addresses: ['10.2.0.1/16'] },
  ],
  zones: [{ name: 'a' }, { name: 'b' }],
  firewall: { policies: [{ name: 'a-to-b', from: 'a', to: 'b', default_action: 'drop', rules }] },
} as Config);

describe('compile cache', () => {
  it('after every step of random edits, a compile with the cache equals one without', () => {
    const drafts = fc.array(draft, { maxLength: 24 });
    fc.assert(fc.property(fc.tuple(drafts, drafts), fc.array(edit, { minLength: 1, maxLength: 12 }), (start, edits) => {
      const cache = new CompileCache();
      let config = initial(start);
      expect(outcome(config, cache)).toEqual(outcome(config));
      for (const e of edits) {
        config = applyEdit(config, e);
        expect(outcome(config, cache), JSON.stringify(e)).toEqual(outcome(config));
      }
    }), fuzzParameters(150));
  });

  it('an insert into a big policy reuses the commands of every run it does not touch, as the same objects', () => {
    const rules = deepFreeze(bigPolicy(20_000));
    const cache = new CompileCache();
    const before = compileRuleset(onePolicy(rules), OPTIONS, cache);
    const inserted = deepFreeze({ id: 'new', action: 'drop', destination: ['192.0.2.1'], services: ['tcp/20000'] } as FirewallRule);
    const config = onePolicy([...rules.slice(0, 4_500), inserted, ...rules.slice(4_500)]);
    const after = compileRuleset(config, OPTIONS, cache);
    expect(after).toEqual(compileRuleset(config, OPTIONS));

    const runCommands = (out: typeof after) => out.nftables.filter((c: any) => c.add?.set?.name?.startsWith('r_') || (c.add?.rule?.chain === 'pol_a-to-b' && c.add.rule.comment !== 'a-to-b'));
    const old = new Set(runCommands(before));
    const fresh = runCommands(after).filter((c) => !old.has(c));
    // 20 runs of a set and a lookup each; the insert joins the drop run of rules 4000-4999, the others are kept
    expect(runCommands(after)).toHaveLength(40);
    expect(fresh.map((c: any) => c.add.set?.name ?? c.add.rule.comment)).toEqual(['r_big-4999_4dlp', 'big-4999']);
    // and their origins follow the rules that moved: the run after the insert starts at document index 5001
    expect(after.origins[after.nftables.indexOf(runCommands(after).find((c: any) => c.add.set?.name === 'r_big-5999_4dlp')!)]).toBe('/firewall/policies/0/rules/5001');
    const counted = new Set(before.ruleCounters.sets);
    expect(after.ruleCounters.sets.filter((s) => !counted.has(s)).map((s) => s.name)).toEqual(['r_big-4999_4dlp']);
  });

  for (const [kind, count, ports] of [['hash', 40_000, (i: number) => `tcp/${10000 + (i % 5000)}`], ['interval', 8_000, (i: number) => `tcp/${10000 + (i % 5000)}-${10001 + (i % 5000)}`]] as const) {
    it(`an insert into one big run (${kind} sets) re-emits only the pieces it changes`, () => {
      const rules = deepFreeze(Array.from({ length: count }, (_, i) => ({
        id: `big-${i}`, action: 'accept', destination: [`172.16.${(i >> 8) & 255}.${i & 255}`], services: [ports(i)],
      }) as FirewallRule));
      const cache = new CompileCache();
      const before = compileRuleset(onePolicy(rules), OPTIONS, cache);
      const inserted = deepFreeze({ id: 'new', action: 'accept', destination: ['192.0.2.1'], services: ['tcp/20000'] } as FirewallRule);
      const config = onePolicy([...rules.slice(0, count / 2), inserted, ...rules.slice(count / 2)]);
      const after = compileRuleset(config, OPTIONS, cache);
      expect(after).toEqual(compileRuleset(config, OPTIONS));
      const sets = (out: typeof after) => out.nftables.filter((c: any) => c.add?.set?.name?.startsWith('r_'));
      const old = new Set(sets(before));
      expect(sets(after).length).toBeGreaterThan(3);
      // the piece the rule went into, and the next one where the insert moved a cut
      expect(sets(after).filter((c) => !old.has(c)).length).toBeLessThanOrEqual(2);
    });
  }

  // Where splicing a rule into or out of a run (rules/run-splice.ts) would differ from building the runs again.
  const r = (id: string, destination: string, service: string) => deepFreeze({ id, action: 'accept', destination: [destination], services: [service] } as FirewallRule);
  const afterEdit = (before: FirewallRule[], after: FirewallRule[]) => {
    const cache = new CompileCache();
    compileRuleset(onePolicy(before), OPTIONS, cache);
    return [outcome(onePolicy(after), cache), outcome(onePolicy(after))];
  };

  it('a delete inside a run whose next run opened for an overlap with the deleted rule: the next rule may join the run', () => {
    const [a, g, z] = [r('a', '10.2.0.1', 'tcp/20'), r('g', '10.2.0.0/30', 'tcp/21'), r('z', '10.2.0.3', 'tcp/22')];
    const next = r('next', '10.2.0.0/31', 'tcp/21-22'); // overlaps g only, so it opened a run; without g it joins
    const [cached, fresh] = afterEdit([a, g, z, next], [a, z, next]);
    expect(cached).toEqual(fresh);
    expect((fresh as any).nftables.filter((c: any) => c.add?.set?.name?.startsWith('r_'))).toHaveLength(1);
  });

  it('a delete inside a run of the rule that shadowed a later one: the later one gets its element back', () => {
    const [first, wide, inner, last] = [r('first', '10.2.0.20', 'tcp/22'), r('wide', '10.2.0.0/30', 'tcp/22'), r('inner', '10.2.0.1', 'tcp/22'), r('last', '10.2.0.9', 'tcp/22')];
    const [cached, fresh] = afterEdit([first, wide, inner, last], [first, inner, last]);
    expect(cached).toEqual(fresh);
    expect((fresh as any).ruleCounters.sets[0].owners).toContain('inner');
  });

  it('two rules inserted into a run that overlap each other: the second one opens a run', () => {
    const [a, z] = [r('a', '10.2.0.1', 'tcp/20'), r('z', '10.2.0.3', 'tcp/22')];
    const [x1, x2] = [r('x1', '10.2.0.4/30', 'tcp/21'), r('x2', '10.2.0.4/31', 'tcp/21-22')];
    const [cached, fresh] = afterEdit([a, z], [a, x1, x2, z]);
    expect(cached).toEqual(fresh);
    expect((fresh as any).nftables.filter((c: any) => c.add?.set?.name?.startsWith('r_'))).toHaveLength(2);
  });

  it('a rule replaced or moved inside a run is spliced exactly where a rebuild puts it', () => {
    const [a, b, c, d] = [r('a', '10.2.0.1', 'tcp/22'), r('b', '10.2.0.2', 'tcp/22'), r('c', '10.2.0.3', 'tcp/22'), r('d', '10.2.0.4', 'tcp/22')];
    const changed = r('b', '10.2.0.9', 'tcp/22');
    for (const after of [[a, changed, c, d], [a, c, changed, d], [a, c, b, d]]) {
      const [cached, fresh] = afterEdit([a, b, c, d], after);
      expect(cached).toEqual(fresh);
    }
  });

  it('rules that are not frozen are compiled again: a change in place is not missed', () => {
    const rules = bigPolicy(3_000);
    const config = { ...onePolicy([]), firewall: { policies: [{ name: 'a-to-b', from: 'a', to: 'b', default_action: 'drop', rules }] } } as Config;
    const cache = new CompileCache();
    compileRuleset(config, OPTIONS, cache);
    rules[10].destination = ['198.51.100.7'];
    rules[2_500].action = 'reject';
    expect(outcome(config, cache)).toEqual(outcome(config));
  });
});
