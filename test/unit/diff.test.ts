// appliance/model/diff.ts: a structural diff that matches list items by id or name.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { diffDocuments, PLAN_LIST_ITEMS, redactedDiff, sameJson } from '../../appliance/model/diff.js';
import { REDACTED } from '../../appliance/model/secrets.js';

/** The list diff before the equal ends were skipped: every item matched by key (the oracle). */
function byKeyOnly(before: Array<{ id: string; v: number }>, after: Array<{ id: string; v: number }>) {
  const old = new Map(before.map((item, i) => [item.id, { item, i }]));
  const out: unknown[] = [];
  after.forEach((item, i) => {
    const previous = old.get(item.id);
    if (!previous) out.push({ op: 'add', path: `/${i}`, after: item });
    else if (previous.item.v !== item.v) out.push({ op: 'change', path: `/${i}/v`, before: previous.item.v, after: item.v });
  });
  const seen = new Set(after.map((item) => item.id));
  for (const [id, { item, i }] of old) if (!seen.has(id)) out.push({ op: 'remove', path: `/${i}`, before: item });
  return out;
}

describe('diffDocuments', () => {
  it('skipping the equal ends of a keyed list finds the same changes as matching every item by key (property)', () => {
    const list = fc.uniqueArray(fc.record({ id: fc.constantFrom(...'abcdefghijkl'), v: fc.integer({ min: 0, max: 2 }) }), { selector: (x) => x.id, maxLength: 12 });
    fc.assert(fc.property(list, list, (before, after) => {
      expect(diffDocuments(before, after)).toEqual(byKeyOnly(before, after));
    }), { numRuns: 2000, seed: 1422 });
  });

  it('equal documents have no changes', () => {
    const doc = { interfaces: [{ name: 'vpc0', addresses: ['10.1.0.1/24'] }], zones: [{ name: 'a' }] };
    expect(diffDocuments(doc, structuredClone(doc))).toEqual([]);
  });

  it('an inserted rule is one add at its new index', () => {
    const before = { rules: [{ id: 'a', action: 'accept' }, { id: 'b', action: 'drop' }, { id: 'c', action: 'drop' }] };
    const after = { rules: [{ id: 'a', action: 'accept' }, { id: 'new', action: 'reject' }, { id: 'b', action: 'drop' }, { id: 'c', action: 'drop' }] };
    expect(diffDocuments(before, after)).toEqual([{ op: 'add', path: '/rules/1', after: { id: 'new', action: 'reject' } }]);
  });

  it('a removed item is one remove at its old index', () => {
    const before = { zones: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] };
    const after = { zones: [{ name: 'a' }, { name: 'c' }] };
    expect(diffDocuments(before, after)).toEqual([{ op: 'remove', path: '/zones/1', before: { name: 'b' } }]);
  });

  it('a changed field inside a keyed item is reported at its path in the new document', () => {
    const before = { rules: [{ id: 'x', action: 'drop' }, { id: 'y', action: 'drop' }] };
    const after = { rules: [{ id: 'new', action: 'accept' }, { id: 'x', action: 'drop' }, { id: 'y', action: 'accept' }] };
    expect(diffDocuments(before, after)).toEqual([
      { op: 'add', path: '/rules/0', after: { id: 'new', action: 'accept' } },
      { op: 'change', path: '/rules/2/action', before: 'drop', after: 'accept' },
    ]);
  });

  it('id takes precedence over name, so renaming an item with an id is a change', () => {
    const before = { items: [{ id: 'r1', name: 'old' }] };
    const after = { items: [{ id: 'r1', name: 'new' }] };
    expect(diffDocuments(before, after)).toEqual([{ op: 'change', path: '/items/0/name', before: 'old', after: 'new' }]);
  });

  it('lists of scalars are compared by position', () => {
    expect(diffDocuments({ a: ['x', 'y'] }, { a: ['x', 'z', 'w'] })).toEqual([
      { op: 'change', path: '/a/1', before: 'y', after: 'z' },
      { op: 'add', path: '/a/2', after: 'w' },
    ]);
    expect(diffDocuments({ a: [1, 2, 3] }, { a: [1] })).toEqual([
      { op: 'remove', path: '/a/1', before: 2 },
      { op: 'remove', path: '/a/2', before: 3 },
    ]);
  });

  it('object keys added and removed', () => {
    expect(diffDocuments({ system: { hostname: 'a', api_port: 8443 } }, { system: { hostname: 'a', allow_ping: false } })).toEqual([
      { op: 'remove', path: '/system/api_port', before: 8443 },
      { op: 'add', path: '/system/allow_ping', after: false },
    ]);
  });

  it('a type change is a change of the whole value', () => {
    expect(diffDocuments({ log: true }, { log: { prefix: 'x' } })).toEqual([{ op: 'change', path: '/log', before: true, after: { prefix: 'x' } }]);
    expect(diffDocuments(1, 2)).toEqual([{ op: 'change', path: '/', before: 1, after: 2 }]);
  });

  it('a mixed list (some items without id or name) falls back to positions', () => {
    const changes = diffDocuments({ l: [{ id: 'a' }, { v: 1 }] }, { l: [{ id: 'b' }, { v: 1 }] });
    expect(changes).toEqual([{ op: 'change', path: '/l/0/id', before: 'a', after: 'b' }]);
  });

  it('diffing from the empty document adds every top-level key', () => {
    expect(diffDocuments({}, { interfaces: [], zones: [] })).toEqual([
      { op: 'add', path: '/interfaces', after: [] },
      { op: 'add', path: '/zones', after: [] },
    ]);
  });
});

describe('sameJson', () => {
  it('is JSON equality without serializing: key order and undefined values aside, any difference counts', () => {
    expect(sameJson({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 })).toBe(true);
    expect(sameJson({ a: 1, u: undefined }, { a: 1 })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, b: null })).toBe(false);
    expect(sameJson({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(sameJson({ a: [1] }, { a: { 0: 1 } })).toBe(false);
    expect(sameJson({ a: '1' }, { a: 1 })).toBe(false);
    expect(sameJson(null, {})).toBe(false);
  });
});

describe('the plan shows changed values bounded', () => {
  it('cuts long lists in an added or removed value to PLAN_LIST_ITEMS with a count of the rest, and masks secrets in it', () => {
    const rules = Array.from({ length: PLAN_LIST_ITEMS + 50 }, (_, i) => ({ id: `r${i}`, action: 'accept' }));
    const added = { name: 'big', rules, peer: { psk: 'hunter2' } };
    const { changes, total } = redactedDiff({ policies: [] }, { policies: [added] });
    expect(total).toBe(1);
    const after = changes[0]!.after as { rules: unknown[]; peer: { psk: string } };
    expect(after.rules).toHaveLength(PLAN_LIST_ITEMS + 1);
    expect(after.rules.at(-1)).toBe('... 50 more');
    expect(after.rules[0]).toEqual({ id: 'r0', action: 'accept' });
    expect(after.peer.psk).toBe(REDACTED);
    expect(added.rules).toHaveLength(PLAN_LIST_ITEMS + 50);
  });
});
