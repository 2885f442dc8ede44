// Every golden output of rules/ checked by the real nft 1.0.6 and kernel, in a
// throwaway network namespace (the root namespace's ruleset is never touched):
// `nft -c -j -f` on each case, and one case loaded for real and listed back.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRuleset, TABLE } from '../../rules/index.js';
import { goldenCases } from '../rules/update-golden.js';
import { requireTools } from './support/tools.js';

const isRoot = process.getuid?.() === 0;
requireTools('rules-kernel-check', isRoot, [{ program: 'nft', pkg: 'nftables' }, { program: 'ip', pkg: 'iproute2' }]);
const cannotRun = isRoot ? '' : 'not running as root';
if (cannotRun) console.warn(`rules-kernel-check: CANNOT RUN (${cannotRun}); these tests are skipped, not passed`);

const NETNS = `jnrules${process.pid}`;
const inNetns = (args: string[]) => spawnSync('ip', ['netns', 'exec', NETNS, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });

describe.skipIf(!!cannotRun)(cannotRun ? `rules kernel check CANNOT RUN: ${cannotRun}` : `rules golden outputs against nft in netns ${NETNS}`, () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jnrules-'));
    execFileSync('ip', ['netns', 'add', NETNS]);
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NETNS]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const c of goldenCases()) {
    it(`nft -c accepts ${c.name}.out.json`, () => {
      const r = inNetns(['nft', '-c', '-j', '-f', c.outPath]);
      expect(r.stderr, r.stderr).toBe('');
      expect(r.status).toBe(0);
    });
  }

  it('loads a case for real, lists the rule comments and the sets\' per-element counters back, and reapplies it harmlessly', () => {
    const c = goldenCases().find((g) => g.name === 'ordered-mixed-actions')!;
    const compiled = compileRuleset(c.config, c.options);
    const file = join(dir, 'batch.json');
    writeFileSync(file, JSON.stringify({ nftables: compiled.nftables }));
    for (let i = 0; i < 2; i++) {
      const r = inNetns(['nft', '-j', '-f', file]);
      expect(r.stderr, r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
    const listed = inNetns(['nft', '-j', 'list', 'ruleset']);
    expect(listed.status).toBe(0);
    const items = (JSON.parse(listed.stdout) as { nftables: Record<string, Record<string, unknown>>[] }).nftables;
    const comments = new Set(items.filter((i) => i.rule).map((i) => i.rule.comment));
    for (const want of ['ssh', 'block-bad', 'dns', 'no-telnet', 'junction:zero-trust', 'junction:zone-dispatch', 'a-to-b']) {
      expect(comments, want).toContain(want);
    }
    // rules count in their sets' per-element counters: every counted set lists with a counter on each element
    const sets = inNetns(['nft', '-j', 'list', 'sets', 'table', 'inet', TABLE]);
    expect(sets.status).toBe(0);
    type ListedSet = { name: string; stmt?: unknown[]; elem?: Array<{ elem?: { counter?: { packets: number } } }> };
    const listedSets = (JSON.parse(sets.stdout) as { nftables: Array<{ set?: ListedSet }> }).nftables.flatMap((i) => (i.set ? [i.set] : []));
    expect(compiled.ruleCounters.sets.length).toBeGreaterThan(0);
    for (const { name, owners } of compiled.ruleCounters.sets) {
      const listedSet = listedSets.find((x) => x.name === name);
      expect(listedSet?.stmt, name).toEqual([{ counter: null }]);
      expect(listedSet?.elem?.length, name).toBe(owners.length);
      for (const element of listedSet?.elem ?? []) expect(element.elem?.counter?.packets, name).toBe(0);
    }
    const owners = compiled.ruleCounters.sets.flatMap((x) => x.owners);
    expect(owners).toContain('web-any');
    expect(owners).toContain('no-telnet');
  });

  it('a 10,000-rule policy loads as one lookup', () => {
    const c = goldenCases().find((g) => g.name === 'two-vpcs-one-service')!;
    const rules = Array.from({ length: 10_000 }, (_, i) => ({
      id: `bulk-${i}`, action: 'accept' as const, destination: [`172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`], services: [`tcp/${10_000 + i}`],
    }));
    const config = structuredClone(c.config);
    config.firewall!.policies[0].rules = rules;
    const compiled = compileRuleset(config, c.options);
    expect(compiled.stats.lookups).toBe(1);
    const file = join(dir, 'bulk.json');
    writeFileSync(file, JSON.stringify({ nftables: compiled.nftables }));
    const r = inNetns(['nft', '-j', '-f', file]);
    expect(r.stderr, r.stderr).toBe('');
    expect(r.status).toBe(0);
    const chain = inNetns(['nft', 'list', 'chain', 'inet', TABLE, 'pol_a-to-b']);
    // one rule with a lookup (and the default action): every rule's element is in that one set
    expect(chain.stdout.match(/ @\S+ accept/g)).toHaveLength(1);
    expect(compiled.ruleCounters.sets).toHaveLength(1);
    expect(compiled.ruleCounters.sets[0].owners).toHaveLength(10_000);
  });
});
