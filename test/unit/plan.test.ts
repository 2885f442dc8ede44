// The plan tells the truth (issue 8, item 2): every change that apply makes
// shows in the plan, at the config level (document paths, old -> new) and
// at the kernel level (nft rules and elements by content), and `changed` is
// false exactly when apply does nothing. Read off the fake kernel.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEMO_YAML, mutating, startHarness, type Harness } from '../api/support/harness.js';
import { redactedDiff } from '../../appliance/model/diff.js';
import type { FirewallArtifact } from '../../appliance/subsystems/firewall/index.js';

const demo = () => parseYaml(DEMO_YAML) as Record<string, any>;

interface PlanBody {
  changed: boolean;
  config: Array<{ op: string; path: string; before?: unknown; after?: unknown }>;
  subsystems: Array<{ subsystem: string; add: string[]; remove: string[]; reordered: boolean; added: number; removed: number; truncated: boolean }>;
  counts: { configChanges: number; added: number; removed: number };
}

describe('plan: config level and kernel level', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    expect((await put(demo())).statusCode).toBe(200);
  });
  afterEach(() => h.close());

  function put(document: unknown, query = '') {
    return h.app.inject({ method: 'PUT', url: `/v1/config${query}`, headers: h.auth(), payload: document as object });
  }
  const firewall = (plan: PlanBody) => plan.subsystems.find((s) => s.subsystem === 'firewall')!;

  /** Dry run, then the real commit: the plan and what apply did must agree. */
  async function planAndApply(edit: (doc: Record<string, any>) => void): Promise<{ plan: PlanBody; changes: string[] }> {
    const doc = demo();
    edit(doc);
    const dry = await put(doc, '?dry_run=true');
    expect(dry.statusCode, dry.body).toBe(200);
    const from = h.runner.commands.length;
    const real = await put(doc);
    expect(real.statusCode, real.body).toBe(200);
    expect(real.json().plan).toEqual(dry.json().plan);
    return { plan: dry.json().plan as PlanBody, changes: mutating(h.transcriptSince(from)) };
  }

  const cases: Array<{ name: string; edit: (doc: Record<string, any>) => void; path: string; before: unknown; after: unknown; removed: RegExp; added: RegExp }> = [
    {
      name: 'a port forward\'s port', edit: (d) => { d.nat.port_forwards[0].port = 8081; },
      path: '/nat/port_forwards/0/port', before: 8000, after: 8081,
      removed: /^rule nat_prerouting "web-in" .*"right":8000/, added: /^rule nat_prerouting "web-in" .*"right":8081/,
    },
    {
      name: 'a port forward\'s target', edit: (d) => { d.nat.port_forwards[0].to_address = '10.1.0.12'; },
      path: '/nat/port_forwards/0/to_address', before: '10.1.0.11', after: '10.1.0.12',
      removed: /^rule nat_prerouting "web-in" .*"dnat":\{"addr":"10\.1\.0\.11"/, added: /^rule nat_prerouting "web-in" .*"dnat":\{"addr":"10\.1\.0\.12"/,
    },
    {
      name: 'a rule\'s ports', edit: (d) => { d.firewall.policies[0].rules[0].services = ['tcp/5433']; },
      path: '/firewall/policies/0/rules/0/services/0', before: 'postgres', after: 'tcp/5433',
      removed: /^element \S+ .*"10\.2\.0\.11",6,5432\]\}$/, added: /^element \S+ .*"10\.2\.0\.11",6,5433\]\}$/,
    },
    {
      name: 'a rule\'s destination', edit: (d) => { d.firewall.policies[0].rules[0].destination = ['10.2.0.12']; },
      path: '/firewall/policies/0/rules/0/destination/0', before: 'db-servers', after: '10.2.0.12',
      removed: /^element \S+ .*"10\.2\.0\.11",6,5432\]/, added: /^element \S+ .*"10\.2\.0\.12",6,5432\]/,
    },
    {
      name: 'an address object\'s entries', edit: (d) => { d.objects.addresses[0].entries = ['10.2.0.11', '10.2.0.13']; },
      path: '/objects/addresses/0/entries/1', before: undefined, after: '10.2.0.13',
      removed: /^$/, added: /^element \S+ .*"10\.2\.0\.13",6,5432\]/,
    },
  ];

  for (const c of cases) {
    it(`changing ${c.name} is a change at both levels, and apply makes exactly that change`, async () => {
      const { plan, changes } = await planAndApply(c.edit);
      expect(plan.changed).toBe(true);
      expect(plan.config).toContainEqual({ op: c.before === undefined ? 'add' : 'change', path: c.path, ...(c.before === undefined ? {} : { before: c.before }), after: c.after });
      const fw = firewall(plan);
      if (c.removed.source !== '^$') expect(fw.remove.filter((l) => c.removed.test(l)), fw.remove.join('\n')).toHaveLength(1);
      expect(fw.add.filter((l) => c.added.test(l)), fw.add.join('\n')).toHaveLength(1);
      expect(fw.added).toBe(fw.add.length);
      expect(fw.removed).toBe(fw.remove.length);
      // apply changed the kernel: one nft transaction, a delta
      expect(changes.filter((l) => l.startsWith('nft -j -f'))).toHaveLength(1);
      // and the kernel now holds the added line's content
      const listing = h.kernel.nft.list(false)!;
      const elementOrRule = c.added.source.includes('element') ? 'elem' : 'dnat';
      expect(listing).toContain(elementOrRule);
      // the same document again: nothing to plan, nothing to do
      const again = await planAndApply(c.edit);
      expect(again.plan.changed).toBe(false);
      expect(again.plan.config).toEqual([]);
      expect(again.changes).toEqual([]);
    });
  }

  it('a change the kernel does not see (a comment) is listed at the config level only: changed is false and apply runs nothing', async () => {
    const { plan, changes } = await planAndApply((d) => { d.nat.port_forwards[0].comment = 'the web server'; });
    expect(plan.changed).toBe(false);
    expect(plan.config).toEqual([{ op: 'change', path: '/nat/port_forwards/0/comment', before: 'public web server', after: 'the web server' }]);
    expect(changes).toEqual([]);
  });

  it('a big change is counted exactly and shown bounded', async () => {
    const { plan } = await planAndApply((d) => {
      d.firewall.policies[0].rules.push(...Array.from({ length: 300 }, (_, i) => ({ id: `bulk-${i}`, action: 'accept', destination: [`10.2.${i >> 8}.${i & 255}`], services: ['tcp/22'] })));
    });
    const fw = firewall(plan);
    expect(fw.truncated).toBe(true);
    expect(fw.add).toHaveLength(200);
    // appended rules change the run's anchor (its last rule): a new set with all 301 elements, and the
    // run's rule; the old set, its element and its rule go
    expect(fw.added).toBe(303);
    expect(fw.removed).toBe(3);
    expect(fw.remove).toContainEqual(expect.stringMatching(/^rule pol_a-to-b "a-to-db" /));
    expect(fw.add).toContainEqual(expect.stringMatching(/^set r_bulk-299_4dlp /));
    expect(plan.counts.configChanges).toBe(300);
    expect(plan.config).toHaveLength(200);
  });
});

describe('plan: secrets', () => {
  it('a changed secret is listed by path with its values masked, and added objects have theirs masked', () => {
    const before = { vpn: { peers: [{ name: 'hq', psk: 'old-secret-value' }] } };
    const after = { vpn: { peers: [{ name: 'hq', psk: 'new-secret-value' }, { name: 'branch', psk: 'branch-secret' }] } };
    const { changes, total } = redactedDiff(before, after);
    expect(total).toBe(2);
    expect(changes).toEqual([
      { op: 'change', path: '/vpn/peers/0/psk', before: '********', after: '********' },
      { op: 'add', path: '/vpn/peers/1', after: { name: 'branch', psk: '********' } },
    ]);
    expect(JSON.stringify(changes)).not.toMatch(/secret-value|branch-secret/);
  });
});

/** A batch with its set elements in a fixed order: element order means nothing to the kernel. */
function canonicalBatch(artifact: FirewallArtifact): string {
  return JSON.stringify(artifact.ruleset.nftables.map((command) => {
    const add = (command as { add?: Record<string, { elem?: unknown[] }> }).add;
    const kind = add && (add.set ? 'set' : add.map ? 'map' : undefined);
    if (!add || !kind || !add[kind].elem) return command;
    return { add: { [kind]: { ...add[kind], elem: add[kind].elem!.map((e) => JSON.stringify(e)).sort() } } };
  }));
}

describe('plan: changed is false exactly when apply changes nothing (property)', () => {
  let h: Harness;
  beforeEach(async () => { h = await startHarness(); });
  afterEach(() => h.close());

  // Documents drawn from a small vocabulary, so that pairs are often equal or nearly so.
  const parameters = fc.record({
    port: fc.constantFrom(8080, 8081),
    target: fc.constantFrom('10.1.0.11', '10.1.0.12'),
    entries: fc.shuffledSubarray(['10.2.0.11', '10.2.0.12', '10.2.0.0/30'], { minLength: 1 }),
    services: fc.constantFrom(['postgres'], ['tcp/5432'], ['tcp/5433'], ['postgres', 'tcp/22']),
    rules: fc.shuffledSubarray(['a-to-db', 'ssh', 'web'], { minLength: 1 }),
    comment: fc.constantFrom('x', 'y'),
    routeVia: fc.constantFrom('100.64.0.1', '100.64.0.3'),
    mtu: fc.constantFrom(1500, 1400),
  });
  type Parameters = typeof parameters extends fc.Arbitrary<infer T> ? T : never;
  function toDocument(p: Parameters) {
    const d = demo();
    d.nat.port_forwards[0] = { ...d.nat.port_forwards[0], port: p.port, to_address: p.target, comment: p.comment };
    d.objects.addresses[0].entries = p.entries;
    const rule = (id: string) => (id === 'a-to-db'
      ? { id, action: 'accept', destination: ['db-servers'], services: p.services }
      : { id, action: id === 'ssh' ? 'drop' : 'accept', services: [id === 'ssh' ? 'tcp/22' : 'tcp/443'] });
    d.firewall.policies[0].rules = p.rules.map(rule);
    d.routes.static[0].via = p.routeVia;
    d.interfaces[1].mtu = p.mtu;
    return d;
  }

  const FIELDS = ['port', 'target', 'entries', 'services', 'rules', 'comment', 'routeVia', 'mtu'] as const;
  /** The second document of a pair: the first with zero to two fields taken from another draw. */
  const pairArbitrary = fc.tuple(parameters, parameters, fc.subarray([...FIELDS], { maxLength: 2 }))
    .map(([first, other, fields]) => [toDocument(first), toDocument({ ...first, ...Object.fromEntries(fields.map((f) => [f, other[f]])) })] as const);

  it('for random pairs of documents: !changed => the same batches (up to element order) and no command that changes anything', async () => {
    let unchanged = 0;
    let changed = 0;
    await fc.assert(fc.asyncProperty(pairArbitrary, async ([first, second]) => {
      expect((await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: first })).statusCode).toBe(200);
      const from = h.runner.commands.length;
      const response = await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: second });
      expect(response.statusCode, response.body).toBe(200);
      const plan = response.json().plan as PlanBody;
      const changes = mutating(h.transcriptSince(from));
      const reconciler = h.appliance.reconciler;
      const batchOf = (doc: unknown) => canonicalBatch(reconciler.prepare(doc).artifacts.get('firewall') as FirewallArtifact);
      if (!plan.changed) {
        unchanged++;
        expect(changes).toEqual([]);
        expect(batchOf(second)).toBe(batchOf(first));
      } else {
        changed++;
        expect(changes.length).toBeGreaterThan(0);
      }
    }), { numRuns: 60, seed: 8 });
    // the vocabulary is small enough that both kinds of pair occur
    expect(unchanged).toBeGreaterThan(0);
    expect(changed).toBeGreaterThan(0);
  });
});
