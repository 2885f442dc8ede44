// The id check remembers the last clean document and checks a commit's
// change against it: whatever sequence of commits, dry runs and duplicates
// comes, it must report exactly what the full walk reports.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProblemList } from '../../appliance/model/problems.js';
import { documentSchema, type Config } from '../../appliance/model/schema.js';
import { editableCopy, freezeDocument } from '../../appliance/model/shared-document.js';
import { verifyUniqueIds } from '../../appliance/model/unique-ids.js';
import { fuzzParameters } from '../support/config-arbitraries.js';

const schema = documentSchema();

/** The check as a full walk, as it was written before it remembered anything. */
function fullWalk(config: Config): ProblemList {
  const problems = new ProblemList();
  const seen = new Map<string, string>();
  const claim = (id: string, path: string) => {
    const earlier = seen.get(id);
    if (earlier) problems.add(path, `id "${id}" is already used at ${earlier}`);
    else seen.set(id, path);
  };
  (config.firewall?.policies ?? []).forEach((policy, p) => policy.rules.forEach((rule, r) => claim(rule.id, `/firewall/policies/${p}/rules/${r}/id`)));
  (config.nat?.egress ?? []).forEach((n, i) => claim(n.id, `/nat/egress/${i}/id`));
  (config.nat?.port_forwards ?? []).forEach((n, i) => claim(n.id, `/nat/port_forwards/${i}/id`));
  (config.nat?.one_to_one ?? []).forEach((n, i) => claim(n.id, `/nat/one_to_one/${i}/id`));
  (config.routes?.static ?? []).forEach((n, i) => claim(n.id, `/routes/static/${i}/id`));
  return problems;
}

const id = fc.integer({ min: 0, max: 60 }).map((n) => `id${n}`);
const rule = id.map((i) => ({ id: i, action: 'accept' as const }));
const route = id.map((i) => ({ id: i, destination: '10.0.0.0/8', blackhole: true }));

function documentOf(policies: Array<Array<{ id: string; action: 'accept' }>>, routes: Array<{ id: string; destination: string; blackhole: boolean }>): Config {
  return { interfaces: [], zones: [], firewall: { policies: policies.map((rules, p) => ({ name: `p${p}`, from: 'a', to: 'b', rules })) }, routes: { static: routes } };
}

/** One edit of a copy: insert, delete or replace an item of one of its lists, then commit it (frozen) or not (a dry run). */
const step = fc.record({ list: fc.nat(), at: fc.nat(), kind: fc.constantFrom('insert', 'delete', 'replace', 'move'), id, commit: fc.boolean() });

describe('verifyUniqueIds', () => {
  it('reports what the full walk reports, over any sequence of edits, commits and dry runs', () => {
    fc.assert(fc.property(fc.array(fc.uniqueArray(rule, { selector: (r) => r.id, maxLength: 30 }), { minLength: 1, maxLength: 3 }), fc.array(route, { maxLength: 5 }), fc.array(step, { maxLength: 12 }), (policies, routes, steps) => {
      let current = freezeDocument(documentOf(policies, routes));
      const check = (config: Config) => {
        const problems = new ProblemList();
        verifyUniqueIds(config, problems);
        expect(problems.items).toEqual(fullWalk(config).items);
      };
      check(current);
      for (const s of steps) {
        const copy = editableCopy(schema, current);
        const lists: Array<Array<{ id: string }>> = [...copy.firewall!.policies.map((p) => p.rules), copy.routes!.static];
        const list = lists[s.list % lists.length];
        const at = list.length ? s.at % list.length : 0;
        const item = list === copy.routes!.static ? { id: s.id, destination: '10.0.0.0/8', blackhole: true } : { id: s.id, action: 'accept' };
        if (s.kind === 'insert' || !list.length) list.splice(at, 0, item);
        else if (s.kind === 'delete') list.splice(at, 1);
        else if (s.kind === 'replace') list[at] = item;
        else lists[(s.list + 1) % lists.length].push(...list.splice(at, 1).map((moved) => ({ ...moved, id: moved.id })));
        check(copy);
        if (s.commit) current = freezeDocument(copy);
      }
    }), fuzzParameters(300));
  });

  it('names both places of a duplicate', () => {
    const problems = new ProblemList();
    verifyUniqueIds(documentOf([[{ id: 'a', action: 'accept' }]], [{ id: 'a', destination: '10.0.0.0/8', blackhole: true }]), problems);
    expect(problems.items).toEqual([{ path: '/routes/static/0/id', message: 'id "a" is already used at /firewall/policies/0/rules/0/id' }]);
  });
});
