// A big run is cut into pieces at rule boundaries chosen by the rule ids
// themselves, so a rule inserted into the run or appended to it changes one
// piece (its elements, or the name of the last piece), never the others.
import { describe, expect, it } from 'vitest';
import { HASH_PIECES, INTERVAL_PIECES, runPieces, type PieceSizes } from '../../rules/run-pieces.js';

/** owners of a run: `rules` rules of `per` elements each */
const run = (rules: number, per = 1, from = 0) => Array.from({ length: rules }, (_, r) => Array(per).fill(`rule-${from + r}`)).flat() as string[];
const contents = (owners: string[], pieces: Array<[number, number]>) => pieces.map(([a, b]) => owners.slice(a, b).join(','));

describe('run pieces', () => {
  for (const [name, sizes] of [['interval', INTERVAL_PIECES], ['hash', HASH_PIECES]] as Array<[string, PieceSizes]>) {
    it(`${name}: covers the run in order, cuts only between rules, and keeps every piece within its bounds`, () => {
      const owners = run(40_000, 2);
      const pieces = runPieces(owners, sizes);
      expect(pieces[0][0]).toBe(0);
      expect(pieces.at(-1)![1]).toBe(owners.length);
      pieces.forEach(([a, b], i) => {
        if (i) expect(a).toBe(pieces[i - 1][1]);
        if (a) expect(owners[a]).not.toBe(owners[a - 1]);
        expect(b - a).toBeLessThanOrEqual(sizes.max + 1);
        if (i < pieces.length - 1) expect(b - a).toBeGreaterThanOrEqual(sizes.min);
      });
      expect(pieces.length).toBeGreaterThan(1);
    });

    it(`${name}: a rule inserted in the middle or appended at the end changes one piece, or two where a cut moves`, () => {
      const owners = run(60_000);
      const before = contents(owners, runPieces(owners, sizes));
      const inserted = [...owners.slice(0, 30_000), 'new-rule', ...owners.slice(30_000)];
      const afterInsert = contents(inserted, runPieces(inserted, sizes));
      expect(afterInsert.filter((p) => !before.includes(p)).length).toBeLessThanOrEqual(2);
      const appended = [...owners, 'appended-rule'];
      const afterAppend = contents(appended, runPieces(appended, sizes));
      expect(afterAppend.filter((p) => !before.includes(p))).toHaveLength(1);
    });
  }

  it('a run up to the largest piece is one piece', () => {
    expect(runPieces(run(INTERVAL_PIECES.max), INTERVAL_PIECES)).toEqual([[0, INTERVAL_PIECES.max]]);
    expect(runPieces(run(HASH_PIECES.max), HASH_PIECES)).toEqual([[0, HASH_PIECES.max]]);
  });
});
