import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyRevisionDelta, revisionDelta, sameText } from '../../appliance/core/revision-delta.js';

/** What the store does: the parent as stored (JSON), parsed, with the delta applied, written again. */
const replay = (before: unknown, after: unknown, max?: number) => {
  const ops = revisionDelta(before, after, max);
  if (!ops) return undefined;
  return JSON.stringify(applyRevisionDelta(JSON.parse(JSON.stringify(before)), JSON.parse(JSON.stringify(ops))));
};

/** Random edits of a JSON value that share what they do not change, as the API's edit copies do. */
const edited = (value: unknown, edits: number[], fresh: unknown[]): unknown => {
  let i = 0;
  const go = (v: unknown, depth: number): unknown => {
    const pick = edits[i++ % edits.length]!;
    if (Array.isArray(v)) {
      const out = v.map((x) => (pick % 3 === 0 ? go(x, depth + 1) : x));
      if (pick % 5 === 1) out.splice(pick % (out.length + 1), 0, fresh[pick % fresh.length]);
      if (pick % 7 === 2 && out.length) out.splice(pick % out.length, 1);
      return out;
    }
    if (v && typeof v === 'object') {
      const entries = Object.entries(v).map(([k, x]) => [k, pick % 2 === 0 ? go(x, depth + 1) : x] as const);
      if (pick % 11 === 3) entries.reverse();
      if (pick % 13 === 4) entries.push([`k${pick}`, fresh[pick % fresh.length]]);
      return Object.fromEntries(entries);
    }
    return pick % 4 === 0 ? fresh[pick % fresh.length] : v;
  };
  return go(value, 0);
};

describe('revision deltas', () => {
  it('replays to the exact JSON text of the revision (values and key order), for random documents and edits', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.array(fc.nat(1000), { minLength: 1, maxLength: 20 }), fc.array(fc.jsonValue({ maxDepth: 2 }), { minLength: 1, maxLength: 4 }), (before, edits, fresh) => {
      const after = edited(before, edits, fresh);
      expect(replay(before, after, Infinity)).toBe(JSON.stringify(after));
    }), { numRuns: 500 });
  });

  it('replays two unrelated documents too (the root replaced)', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.jsonValue(), (before, after) => {
      expect(replay(before, after, Infinity)).toBe(JSON.stringify(after));
    }), { numRuns: 300 });
  });

  it('is one small splice for one rule inserted into a 100k-rule policy, and nothing for an equal document', () => {
    const rules = Array.from({ length: 100_000 }, (_, i) => ({ id: `r${i}`, action: 'accept', destination: [`10.0.${i >> 8}.${i & 255}`] }));
    const before = { interfaces: [{ name: 'ccnn0' }], firewall: { policies: [{ name: 'p', rules }, { name: 'q', rules: [] }] } };
    const inserted = { id: 'new', action: 'drop' };
    const after = { ...before, firewall: { policies: [{ name: 'p', rules: [...rules.slice(0, 500), inserted, ...rules.slice(500)] }, before.firewall.policies[1]] } };
    expect(revisionDelta(before, after)).toEqual([{ splice: ['firewall', 'policies', 0, 'rules'], start: 500, remove: 0, items: [inserted] }]);
    expect(revisionDelta(before, JSON.parse(JSON.stringify(before)))).toEqual([]);
    expect(replay(before, after)).toBe(JSON.stringify(after));
  });

  it('gives up past the value budget (the store writes the whole document then)', () => {
    const before = { rules: Array.from({ length: 100 }, (_, i) => ({ id: i })) };
    const after = { rules: before.rules.map((r) => ({ ...r, changed: true })) };
    expect(revisionDelta(before, after, 250)).toBeUndefined();
    expect(replay(before, after, 400)).toBe(JSON.stringify(after));
    expect(revisionDelta({ a: 1 }, { b: Array.from({ length: 300 }, (_, i) => i) }, 250)).toBeUndefined();
  });

  it('tells key order apart (JSON text), where the plan diff does not', () => {
    expect(sameText({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(false);
    expect(sameText({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(replay({ x: { a: 1, b: 2 } }, { x: { b: 2, a: 1 } })).toBe('{"x":{"b":2,"a":1}}');
  });

  it('refuses a delta that does not fit the document it is applied to', () => {
    expect(() => applyRevisionDelta({ a: [] }, [{ splice: ['a'], start: 2, remove: 1, items: [] }])).toThrow(/does not fit/);
    expect(() => applyRevisionDelta({ a: 1 }, [{ set: ['b', 'c'], value: 1 }])).toThrow(/does not fit/);
  });
});
