import { describe, expect, it } from 'vitest';
import { identicalEnds, noteCopy, sharedEnds, spliceEdited } from '../../appliance/model/list-ends.js';

// The run between the shared ends of two versions of a list, by identity.
describe('identicalEnds', () => {
  const items = Array.from({ length: 6 }, (_, i) => Object.freeze({ id: `r${i}` }));

  it('finds the shared head and tail around an insert, a delete and a replace', () => {
    const before = Object.freeze([...items]);
    expect(identicalEnds(before, Object.freeze([{ id: 'new' }, ...items]))).toEqual({ head: 0, tail: 6 });
    expect(identicalEnds(before, Object.freeze([...items.slice(0, 2), ...items.slice(3)]))).toEqual({ head: 2, tail: 3 });
    expect(identicalEnds(before, Object.freeze([...items.slice(0, 4), { id: 'r4' }, items[5]]))).toEqual({ head: 4, tail: 1 });
    // an equal copy is not the same item
    expect(identicalEnds(before, Object.freeze(items.map((r) => ({ ...r }))))).toEqual({ head: 0, tail: 0 });
  });

  it('never counts an item at both ends', () => {
    const a = items[0];
    expect(identicalEnds(Object.freeze([a]), Object.freeze([a, a]))).toEqual({ head: 1, tail: 0 });
    expect(identicalEnds(Object.freeze([a, a, a]), Object.freeze([a]))).toEqual({ head: 1, tail: 0 });
  });

  it('remembers the answer only for frozen lists, and only against the same older list', () => {
    const after = Object.freeze([...items]);
    const one = Object.freeze([...items]);
    const other = Object.freeze([items[1], ...items.slice(1)]);
    expect(identicalEnds(one, after)).toEqual({ head: 6, tail: 0 });
    expect(identicalEnds(other, after)).toEqual({ head: 0, tail: 5 });
    const mutable: Array<{ id: string }> = [...items];
    expect(identicalEnds(one, mutable)).toEqual({ head: 6, tail: 0 });
    mutable.unshift({ id: 'x' });
    expect(identicalEnds(one, mutable)).toEqual({ head: 0, tail: 6 });
  });
});

// An edit through the API splices a copy of a committed list once and says so:
// the stages take its ends from the record instead of scanning.
describe('spliceEdited', () => {
  const items: Array<Readonly<{ id: string }>> = Array.from({ length: 8 }, (_, i) => Object.freeze({ id: `r${i}` }));
  const committed = Object.freeze([...items]);
  const copyOf = (list: readonly { id: string }[]) => {
    const copy = [...list];
    noteCopy(copy, list);
    return copy;
  };
  /** What a scan finds: the same question asked of a fresh list with the same items (no record). */
  const scanned = (before: readonly unknown[], after: readonly unknown[]) => identicalEnds(before, [...after]);

  it('records exactly what a scan would find, for inserts, replaces and deletes anywhere', () => {
    for (let at = 0; at <= items.length; at++) {
      for (const [removed, inserted] of [[0, 1], [1, 1], [1, 0], [0, 2], [2, 1]] as const) {
        if (at + removed > items.length) continue;
        const copy = copyOf(committed);
        spliceEdited(copy, at, removed, ...Array.from({ length: inserted }, (_, i) => ({ id: `new${i}` })));
        const expected = [...items];
        expected.splice(at, removed, ...copy.slice(at, at + inserted));
        expect(copy, `at ${at}, -${removed} +${inserted}`).toEqual(expected);
        expect(sharedEnds(copy), `at ${at}, -${removed} +${inserted}`).toEqual(scanned(committed, copy));
        expect(identicalEnds(committed, copy)).toEqual(scanned(committed, copy));
      }
    }
  });

  it('clamps as splice does', () => {
    const copy = copyOf(committed);
    spliceEdited(copy, 100, 5, { id: 'end' });
    expect(copy.at(-1)).toEqual({ id: 'end' });
    expect(sharedEnds(copy)).toEqual({ head: 8, tail: 0 });
    const front = copyOf(committed);
    spliceEdited(front, -3, 1);
    expect(front).toEqual(items.slice(1));
    expect(sharedEnds(front)).toEqual({ head: 0, tail: 7 });
  });

  it('records nothing for a list that is not a copy of a committed one, and forgets at a second splice', () => {
    const plain = [...items];
    spliceEdited(plain, 0, 1);
    expect(sharedEnds(plain)).toBeUndefined();
    const twice = copyOf(committed);
    spliceEdited(twice, 0, 1);
    spliceEdited(twice, 3, 0, { id: 'x' });
    expect(sharedEnds(twice)).toBeUndefined();
    // and the stages scan it, finding what is there
    expect(identicalEnds(committed, twice)).toEqual(scanned(committed, twice));
  });

  it('does not trust a record once the list changed length another way', () => {
    const copy = copyOf(committed);
    spliceEdited(copy, 2, 1);
    copy.push({ id: 'pushed' });
    expect(sharedEnds(copy)).toBeUndefined();
    expect(identicalEnds(committed, copy)).toEqual(scanned(committed, copy));
  });

  it('is no record against another older list, nor when the list it came from is not committed (frozen)', () => {
    const copy = copyOf(committed);
    spliceEdited(copy, 0, 0, { id: 'new' });
    const other = Object.freeze([...items]);
    expect(identicalEnds(other, copy)).toEqual(scanned(other, copy));
    const open = [...items];
    const copyOfOpen = copyOf(open);
    spliceEdited(copyOfOpen, 0, 1);
    expect(sharedEnds(copyOfOpen)).toBeUndefined();
  });
});
