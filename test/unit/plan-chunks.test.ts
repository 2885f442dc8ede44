// The chunked plan (core/plan.ts) is exactly the flat one: the plan of two
// describe results in chunks, skipping the chunks both share, equals the
// set-based diff of their concatenations (kept here as the reference), for
// random chunk lists with shared, copied, edited, dropped, added and moved
// chunks, lines moved between chunks, duplicates and reorders.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PLAN_LINES, subsystemPlan, type SubsystemPlan } from '../../appliance/core/plan.js';
import type { PlanChunk } from '../../appliance/core/subsystem.js';

/** The flat computation the chunked one must equal. */
function flatPlan(subsystem: string, old: string[], next: string[]): SubsystemPlan {
  const oldSet = new Set(old);
  const nextSet = new Set(next);
  const add = next.filter((l) => !oldSet.has(l));
  const remove = old.filter((l) => !nextSet.has(l));
  const reordered = !add.length && !remove.length && (old.length !== next.length || old.some((line, i) => line !== next[i]));
  return {
    subsystem, add: add.slice(0, PLAN_LINES), remove: remove.slice(0, PLAN_LINES), reordered,
    added: add.length, removed: remove.length, truncated: add.length > PLAN_LINES || remove.length > PLAN_LINES,
  };
}

const flat = (chunks: readonly PlanChunk[]) => chunks.flatMap((chunk) => chunk.lines);

/** What becomes of one chunk of the running artifact in the new one. */
type Fate = { kind: 'shared' } | { kind: 'copied' } | { kind: 'dropped' } | { kind: 'reversed' } | { kind: 'edited'; lines: string[] } | { kind: 'rekeyed'; key: string };

function chunkPairs(lineCount: number, maxLines: number, size: fc.SizeForArbitrary = 'small') {
  // three words: the plan looks lines up by their first two, which many lines and chunks share here
  const line = fc.integer({ min: 0, max: lineCount - 1 }).map((n) => `element s${n % 3} ${n}`);
  const key = fc.constantFrom('declarations', 'elements a', 'elements b', 'elements c', 'rules x', 'rules y');
  const chunk = fc.record({ key, lines: fc.array(line, { maxLength: maxLines, size }) });
  const fate: fc.Arbitrary<Fate> = fc.oneof(
    { weight: 4, arbitrary: fc.constant({ kind: 'shared' as const }) },
    fc.constant({ kind: 'copied' as const }),
    fc.constant({ kind: 'dropped' as const }),
    fc.constant({ kind: 'reversed' as const }),
    fc.record({ kind: fc.constant('edited' as const), lines: fc.array(line, { maxLength: maxLines, size }) }),
    fc.record({ kind: fc.constant('rekeyed' as const), key }),
  );
  return fc.record({
    old: fc.array(chunk, { maxLength: 6 }),
    fates: fc.array(fate, { minLength: 6, maxLength: 6 }),
    added: fc.array(chunk, { maxLength: 2 }),
    order: fc.array(fc.integer(), { minLength: 8, maxLength: 8 }),
  }).map(({ old, fates, added, order }) => {
    const kept = old.flatMap((chunk, i): PlanChunk[] => {
      const fate = fates[i];
      if (fate.kind === 'shared') return [chunk];
      if (fate.kind === 'copied') return [{ key: chunk.key, lines: [...chunk.lines] }];
      if (fate.kind === 'dropped') return [];
      if (fate.kind === 'reversed') return [{ key: chunk.key, lines: [...chunk.lines].reverse() }];
      if (fate.kind === 'rekeyed') return [{ key: fate.key, lines: chunk.lines }];
      return [{ key: chunk.key, lines: fate.lines }];
    });
    const next = [...kept, ...added].map((chunk, i) => ({ chunk, rank: order[i] ?? 0 })).sort((a, b) => a.rank - b.rank).map(({ chunk }) => chunk);
    return { old: old as PlanChunk[], next };
  });
}

describe('plan in chunks', () => {
  it('equals the flat plan of the concatenated lines (few distinct lines: duplicates, moves, reorders)', () => {
    fc.assert(fc.property(chunkPairs(12, 8), ({ old, next }) => {
      expect(subsystemPlan('s', old, next)).toEqual(flatPlan('s', flat(old), flat(next)));
    }), { numRuns: 2000 });
  });

  it('equals the flat plan for big chunks (more than PLAN_LINES lines differ)', () => {
    let truncated = 0;
    fc.assert(fc.property(chunkPairs(1000, 150, 'max'), ({ old, next }) => {
      const plan = subsystemPlan('s', old, next);
      expect(plan).toEqual(flatPlan('s', flat(old), flat(next)));
      if (plan.truncated) truncated++;
    }), { numRuns: 300 });
    // the runs did reach the truncated case
    expect(truncated).toBeGreaterThan(0);
  });

  it('a chunk is read once in its life, to index its lines; shared by both sides, never again', () => {
    const elements = Array.from({ length: 1000 }, (_, i) => `element a ${i}`);
    let readable = true;
    // its length may always be asked; its lines only while readable
    const guarded = new Proxy(elements, {
      get: (target, property, receiver) => {
        if (property === 'length' || readable) return Reflect.get(target, property, receiver);
        throw new Error(`line read: ${String(property)}`);
      },
    });
    const shared: PlanChunk = { key: 'elements a', lines: guarded };
    subsystemPlan('s', [shared], [{ key: 'rules x', lines: ['rule 1'] }]); // a plan that looked a line up in it
    readable = false;
    const plan = subsystemPlan('s', [shared, { key: 'rules x', lines: ['rule 1', 'rule 2'] }], [shared, { key: 'rules x', lines: ['rule 1', 'rule 3', 'rule 2'] }]);
    expect(plan).toEqual(flatPlan('s', [...elements, 'rule 1', 'rule 2'], [...elements, 'rule 1', 'rule 3', 'rule 2']));
    expect(plan).toMatchObject({ add: ['rule 3'], remove: [], added: 1 });
    // and with nothing added or removed, the order is compared around it
    expect(subsystemPlan('s', [shared, { key: 'rules x', lines: ['rule 1', 'rule 2'] }], [shared, { key: 'rules x', lines: ['rule 2', 'rule 1'] }])).toMatchObject({ added: 0, removed: 0, reordered: true });
  });

  it('the same chunks in the same order are no change; the same lines across other chunk borders are none either', () => {
    const a: PlanChunk[] = [{ key: 'k1', lines: ['x', 'y'] }, { key: 'k2', lines: ['z'] }];
    expect(subsystemPlan('s', a, a)).toMatchObject({ added: 0, removed: 0, reordered: false });
    expect(subsystemPlan('s', a, [{ key: 'k1', lines: ['x'] }, { key: 'k2', lines: ['y', 'z'] }])).toMatchObject({ added: 0, removed: 0, reordered: false });
    expect(subsystemPlan('s', a, [{ key: 'k2', lines: ['z'] }, { key: 'k1', lines: ['x', 'y'] }])).toMatchObject({ added: 0, removed: 0, reordered: true });
  });
});
