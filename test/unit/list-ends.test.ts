import { describe, expect, it } from 'vitest';
import { identicalEnds } from '../../appliance/model/list-ends.js';

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
