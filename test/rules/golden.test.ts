// Golden cases (test/rules/cases/NAME.in.yaml -> NAME.out.json), reject cases, and
// the run/overlap logic that keeps one lookup per run of same-action rules.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { onePolicyConfig } from '../support/one-policy-config.js';
import type { Config, FirewallRule } from '../../appliance/model/schema.js';
import { CompileError, compileRuleset, type CompiledRuleset } from '../../rules/index.js';
import { verifyConfig } from '../../appliance/model/verify.js';
import { uniqueProblems, type Problem } from '../../appliance/model/problems.js';
import { goldenCases, rejectCases, renderGolden } from './update-golden.js';

describe('golden cases', () => {
  const cases = goldenCases();
  it('has the required cases', () => {
    const names = cases.map((c) => c.name);
    for (const n of ['minimal', 'two-vpcs-one-service', 'snat-and-one-to-one', 'ordered-mixed-actions', 'groups-and-services', 'logging', 'ipv6', 'self-policy']) {
      expect(names).toContain(n);
    }
  });
  for (const c of cases) {
    it(`${c.name} compiles to ${c.name}.out.json (npm run golden:update to regenerate)`, () => {
      expect(renderGolden(c)).toBe(readFileSync(c.outPath, 'utf8'));
    });
    it(`${c.name}: one origin per command, every rule commented`, () => {
      const out = compileRuleset(c.config, c.options);
      expect(out.origins).toHaveLength(out.nftables.length);
      const rules = out.nftables.filter((cmd) => 'add' in cmd && 'rule' in (cmd as { add: object }).add) as { add: { rule: { comment?: string } } }[];
      expect(rules.length).toBe(out.stats.rules);
      for (const r of rules) expect(r.add.rule.comment).toMatch(/\S/);
      expect(out.nftables.slice(0, 3)).toEqual([
        { add: { table: { family: 'inet', name: 'junction' } } },
        { delete: { table: { family: 'inet', name: 'junction' } } },
        { add: { table: { family: 'inet', name: 'junction' } } },
      ]);
    });
  }
});

// A document reaches the compiler only through verify (appliance/model/verify.ts),
// which owns the checks the compiler trusts (zones, ids, NAT interfaces and
// ports); a reject case is what the pipeline answers: both, each problem once.
function pipelineProblems(c: { config: Config; options: Parameters<typeof compileRuleset>[1] }): Problem[] {
  const found: Problem[] = [...verifyConfig(c.config)];
  try {
    compileRuleset(c.config, c.options);
  } catch (e) {
    if (!(e instanceof CompileError)) throw e;
    found.push(...e.problems);
  }
  return uniqueProblems(found);
}

describe('reject cases', () => {
  for (const c of rejectCases()) {
    it(`${c.name} is rejected with the expected problems`, () => {
      const problems = pipelineProblems(c);
      for (const want of c.expected) {
        expect(problems.some((p) => p.path === want.path && p.message.includes(want.message)), `${want.path}: ${want.message} in ${JSON.stringify(problems)}`).toBe(true);
      }
      expect(problems).toHaveLength(c.expected.length);
    });
  }
});

// ---- run / overlap logic ----

const base = onePolicyConfig;

const host = (i: number, net = 2) => `10.${net}.${(i >> 8) & 255}.${i & 255}`;
type Cmd = { add?: { set?: { name: string; flags?: string[]; elem?: unknown[] }; rule?: { chain: string; expr: unknown[] } } };
/** The counted sets the policy's runs look up, in order, each with the owner (rule id) of each element. */
const maps = (out: CompiledRuleset) => out.ruleCounters.sets.map(({ name, owners }) => {
  const set = (out.nftables as Cmd[]).find((c) => c.add?.set?.name === name)!.add!.set!;
  return { ...set, owners };
});
const policyRules = (out: { nftables: object[] }) => (out.nftables as Cmd[]).filter((c) => c.add?.rule?.chain === 'pol_a-to-b');

describe('runs', () => {
  it('compiles 10,000 accept rules into one lookup with 10,000 counted elements (one hash set: single values only)', () => {
    const rules = Array.from({ length: 10_000 }, (_, i): FirewallRule => ({
      id: `r${i}`, action: 'accept', source: ['10.1.0.5'], destination: [host(i)], services: [`tcp/${1 + (i % 1000)}`],
    }));
    const out = compileRuleset(base(rules), { flowtable: false });
    expect(out.stats.lookups).toBe(1);
    expect(maps(out)).toHaveLength(1);
    expect(maps(out)[0].elem).toHaveLength(10_000);
    expect(maps(out)[0].owners[1234]).toBe('r1234');
  });

  // Compile speed is the rules-scale benchmark's business (ratios against nft
  // in the same run), never a wall-clock bound in a test on a shared machine.
  it('compiles 100,000 "any -> host:port" rules into a few hash-set lookups (pieces of 4k-16k elements)', () => {
    const rules = Array.from({ length: 100_000 }, (_, i): FirewallRule => ({
      id: `r${i}`, action: 'accept', destination: [host(i % 60000, 2 + Math.floor(i / 60000))], services: [`tcp/${1 + (i % 50000)}`],
    }));
    const out = compileRuleset(base(rules), { flowtable: false });
    expect(out.stats.lookups).toBeGreaterThanOrEqual(Math.ceil(100_000 / 16_385));
    expect(out.stats.lookups).toBeLessThanOrEqual(Math.ceil(100_000 / 4096));
    expect(out.stats.elements).toBeGreaterThanOrEqual(100_000);
  });

  it('alternating actions give one lookup per rule', () => {
    const rules = Array.from({ length: 10 }, (_, i): FirewallRule => ({
      id: `r${i}`, action: i % 2 ? 'drop' : 'accept', destination: [host(i)], services: ['tcp/80'],
    }));
    const out = compileRuleset(base(rules), { flowtable: false });
    expect(out.stats.lookups).toBe(10);
    const verdicts = policyRules(out).slice(0, 10).map((r) => Object.keys(r.add!.rule!.expr[1] as object)[0]);
    expect(verdicts).toEqual(['accept', 'drop', 'accept', 'drop', 'accept', 'drop', 'accept', 'drop', 'accept', 'drop']);
  });

  it('drops an element shadowed by an earlier rule of the same run', () => {
    const out = compileRuleset(base([
      { id: 'wide', action: 'accept', destination: ['10.2.0.0/24'], services: ['tcp/1-1024'] },
      { id: 'narrow', action: 'accept', source: ['10.1.0.5'], destination: ['10.2.0.10'], services: ['tcp/443'] },
    ]), { flowtable: false });
    expect(out.stats.lookups).toBe(1);
    expect(maps(out)[0].owners).toEqual(['wide']);
  });

  it('starts a new run at a partial overlap, and keeps the order', () => {
    const out = compileRuleset(base([
      { id: 'first', action: 'accept', destination: ['10.2.0.0/25'], services: ['tcp/80'] },
      { id: 'other', action: 'accept', destination: ['10.2.5.0/24'], services: ['tcp/80'] },
      { id: 'overlapping', action: 'accept', destination: ['10.2.0.64/26', '10.2.0.128/26'], services: ['tcp/1-100'] },
      { id: 'after', action: 'accept', destination: ['10.2.9.9'] },
    ]), { flowtable: false });
    expect(out.stats.lookups).toBe(2);
    expect(maps(out).map((m) => m.owners)).toEqual([['first', 'other'], ['overlapping', 'after']]);
  });

  it('a rule that contains an earlier element is a partial overlap (the kernel would reject it otherwise)', () => {
    const out = compileRuleset(base([
      { id: 'narrow', action: 'accept', destination: ['10.2.0.10'], services: ['tcp/443'] },
      { id: 'wide', action: 'accept', destination: ['10.2.0.0/24'] },
    ]), { flowtable: false });
    expect(out.stats.lookups).toBe(2);
  });

  it('logged rules get their own run with a log rule before the counted verdict', () => {
    const out = compileRuleset(base([
      { id: 'a', action: 'accept', destination: [host(1)] },
      { id: 'b', action: 'accept', destination: [host(2)], log: true },
      { id: 'c', action: 'accept', destination: [host(3)] },
    ]), { flowtable: false });
    const rules = policyRules(out);
    expect(rules.map((r) => Object.keys(r.add!.rule!.expr.at(-1) as object)[0])).toEqual(['accept', 'log', 'accept', 'accept', 'drop']);
  });

  it('omits disabled rules and gives "any" rules both families', () => {
    const out = compileRuleset(base([
      { id: 'off', action: 'drop', enabled: false },
      { id: 'any', action: 'accept' },
    ]), { flowtable: false });
    expect(maps(out).map((m) => m.name)).toEqual(['r_any_4f', 'r_any_6f']);
    expect(out.ruleCounters.rules.flatMap((r) => r.ids)).toEqual(['any']);
  });

  it('merges overlapping entries within one rule instead of rejecting them', () => {
    const out = compileRuleset(base([
      { id: 'merged', action: 'accept', destination: ['10.2.0.0-10.2.0.20', '10.2.0.10-10.2.0.30'], services: ['tcp/80-90', 'tcp/85-100'] },
    ]), { flowtable: false });
    expect(maps(out)[0].elem).toEqual([
      { concat: [{ range: ['10.2.0.0', '10.2.0.30'] }, 6, { range: [80, 100] }] },
    ]);
    expect(maps(out)[0].owners).toEqual(['merged']);
  });
});

// ---- the set shape of a run: only the dimensions some element narrows, interval only for ranges ----

describe('run shapes', () => {
  type SetCmd = { name: string; type: string | string[]; flags?: string[]; elem?: unknown[] };
  const only = (rules: FirewallRule[]) => {
    const out = compileRuleset(base(rules), { flowtable: false });
    const sets = maps(out) as Array<SetCmd & { owners: string[] }>;
    const lookups = policyRules(out).map((r) => r.add!.rule!.expr[0] as { match: { left: unknown; right: string } });
    return { sets, lookups };
  };

  it('any source, one host, one port: a hash set of daddr . l4proto . dport', () => {
    const { sets, lookups } = only([{ id: 'db', action: 'accept', destination: ['10.2.0.11'], services: ['tcp/5432'] }]);
    expect(sets).toHaveLength(1);
    expect(sets[0]).toMatchObject({ type: ['ipv4_addr', 'inet_proto', 'inet_service'], elem: [{ concat: ['10.2.0.11', 6, 5432] }] });
    expect(sets[0].flags).toBeUndefined();
    expect(lookups[0].match.left).toEqual({ concat: [{ payload: { protocol: 'ip', field: 'daddr' } }, { meta: { key: 'l4proto' } }, { payload: { protocol: 'th', field: 'dport' } }] });
  });

  it('a run that mixes exact and range elements is an interval set; its exact elements stay single values', () => {
    const { sets } = only([
      { id: 'one', action: 'accept', destination: ['10.2.0.11'], services: ['tcp/22'] },
      { id: 'many', action: 'accept', destination: ['10.2.1.0/24'], services: ['tcp/8000-8080'] },
    ]);
    expect(sets).toHaveLength(1);
    expect(sets[0].flags).toEqual(['interval']);
    expect(sets[0].elem).toEqual([
      { concat: ['10.2.0.11', 6, 22] },
      { concat: [{ prefix: { addr: '10.2.1.0', len: 24 } }, 6, { range: [8000, 8080] }] },
    ]);
    expect(sets[0].owners).toEqual(['one', 'many']);
  });

  it('ICMP without ports next to a TCP port keeps the port, as the full range (interval); ICMP alone drops it', () => {
    const mixed = only([
      { id: 'ping', action: 'accept', destination: ['10.2.0.11'], services: ['icmp'] },
      { id: 'ssh', action: 'accept', destination: ['10.2.0.11'], services: ['tcp/22'] },
    ]);
    expect(mixed.sets[0]).toMatchObject({ type: ['ipv4_addr', 'inet_proto', 'inet_service'], flags: ['interval'] });
    expect(mixed.sets[0].elem).toEqual([{ concat: ['10.2.0.11', 1, { range: [0, 65535] }] }, { concat: ['10.2.0.11', 6, 22] }]);
    const icmp = only([{ id: 'ping', action: 'accept', destination: ['10.2.0.11'], services: ['icmp'] }]);
    expect(icmp.sets[0]).toMatchObject({ type: ['ipv4_addr', 'inet_proto'], elem: [{ concat: ['10.2.0.11', 1] }] });
    expect(icmp.sets[0].flags).toBeUndefined();
  });

  it('IPv6: a hash set of ip6 saddr . ip6 daddr when both are hosts and every service is any', () => {
    const { sets, lookups } = only([{ id: 'v6', action: 'drop', source: ['2001:db8::1'], destination: ['2001:db8:1::2'] }]);
    expect(sets).toHaveLength(1);
    expect(sets[0]).toMatchObject({ type: ['ipv6_addr', 'ipv6_addr'], elem: [{ concat: ['2001:db8::1', '2001:db8:1::2'] }] });
    expect(sets[0].flags).toBeUndefined();
    expect(lookups[0].match.left).toEqual({ concat: [{ payload: { protocol: 'ip6', field: 'saddr' } }, { payload: { protocol: 'ip6', field: 'daddr' } }] });
  });

  it('no address in the key: the family leads it, so an IPv4 set never sees IPv6 packets', () => {
    const { sets, lookups } = only([{ id: 'ssh-anywhere', action: 'drop', services: ['tcp/22'] }]);
    expect(sets.map((s) => [s.type, s.elem])).toEqual([
      [['nf_proto', 'inet_proto', 'inet_service'], [{ concat: ['ipv4', 6, 22] }]],
      [['nf_proto', 'inet_proto', 'inet_service'], [{ concat: ['ipv6', 6, 22] }]],
    ]);
    expect(lookups[0].match.left).toEqual({ concat: [{ meta: { key: 'nfproto' } }, { meta: { key: 'l4proto' } }, { payload: { protocol: 'th', field: 'dport' } }] });
  });

  it('a run whose only rule is all-any: one nfproto element per family, a hash set', () => {
    const { sets, lookups } = only([{ id: 'everything', action: 'accept' }]);
    expect(sets.map((s) => [s.type, s.elem, s.flags])).toEqual([['nf_proto', ['ipv4'], undefined], ['nf_proto', ['ipv6'], undefined]]);
    expect(lookups[0].match.left).toEqual({ meta: { key: 'nfproto' } });
  });
});

// ---- names: a run's set and its rules' comment follow the run's last rule, so most edits change elements only ----

describe('stable run names', () => {
  const rule = (id: string, i: number, action: FirewallRule['action'] = 'accept'): FirewallRule => ({ id, action, destination: [host(i)], services: ['tcp/443'] });
  const run = (rules: FirewallRule[]) => {
    const out = compileRuleset(base(rules), { flowtable: false });
    return { names: maps(out).map((m) => m.name), comments: policyRules(out).map((r) => (r.add!.rule as { comment?: string }).comment) };
  };
  const before = run([rule('a', 1), rule('b', 2), rule('c', 3)]);

  it('names the set after the last rule, the family and the shape; the comment is the last rule', () => {
    expect(before.names).toEqual(['r_c_4dlp']);
    expect(before.comments).toEqual(['c', 'a-to-b']);
  });

  it('a rule inserted at the head or in the middle, or a non-last rule deleted, keeps the name and the comment', () => {
    expect(run([rule('new', 9), rule('a', 1), rule('b', 2), rule('c', 3)])).toEqual(before);
    expect(run([rule('a', 1), rule('new', 9), rule('b', 2), rule('c', 3)])).toEqual(before);
    expect(run([rule('a', 1), rule('c', 3)])).toEqual(before);
  });

  it('a run split by a rule of another action: the part before it is a new run named after its own last rule; later runs keep their names', () => {
    const split = run([rule('a', 1), rule('stop', 9, 'drop'), rule('b', 2), rule('c', 3)]);
    expect(split.names).toEqual(['r_a_4dlp', 'r_stop_4dlp', 'r_c_4dlp']);
  });

  it('a changed shape is a new set name', () => {
    expect(run([rule('a', 1), { id: 'c', action: 'accept', destination: ['10.9.0.0/24'], services: ['tcp/443'] }]).names).toEqual(['r_c_4dlpi']);
  });
});

// ---- a big run of ranges is split into interval sets of bounded size, at rule boundaries chosen by rule id ----

describe('pieces of a big interval run', () => {
  const ranged = (i: number): FirewallRule => ({ id: `net-${i}`, action: 'accept', destination: [`10.${2 + (i >> 14)}.${(i >> 6) & 255}.${(i & 63) * 4}/30`], services: ['tcp/443'] });
  const compile = (rules: FirewallRule[]) => maps(compileRuleset(base(rules), { flowtable: false }));
  const rules = Array.from({ length: 10_000 }, (_, i) => ranged(i));
  const pieces = compile(rules);

  it('every piece is an interval set of at most about 2048 elements; together they hold every rule once, in order', () => {
    expect(pieces.length).toBeGreaterThan(4);
    for (const piece of pieces) {
      expect(piece.flags).toEqual(['interval']);
      expect(piece.owners.length).toBeLessThanOrEqual(2048);
    }
    expect(pieces.flatMap((p) => p.owners)).toEqual(rules.map((r) => r.id));
    expect(new Set(pieces.map((p) => p.name)).size).toBe(pieces.length);
    expect(pieces.at(-1)!.name).toBe('r_net-9999_4dlpi');
  });

  it('a rule inserted at the head changes the first piece only', () => {
    const after = compile([ranged(20_000), ...rules]);
    expect(after.slice(1).map((p) => [p.name, p.owners])).toEqual(pieces.slice(1).map((p) => [p.name, p.owners]));
    expect(after[0].name).toBe(pieces[0].name);
    expect(after[0].owners).toEqual([ranged(20_000).id, ...pieces[0].owners]);
  });

  it('a hash run is never split', () => {
    const hosts = Array.from({ length: 10_000 }, (_, i): FirewallRule => ({ id: `h${i}`, action: 'accept', destination: [host(i)], services: ['tcp/443'] }));
    expect(compile(hosts)).toHaveLength(1);
  });
});
