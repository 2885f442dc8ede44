// Splits the elements of a big run into pieces, each its own set and
// lookup. The kernel's concatenated interval set (pipapo) takes time
// quadratic in its size to load (measured on this kernel: 16k elements
// 2.4 s, 64k elements 35 s, 1k elements 0.03 s), so one 100k-rule run of
// ranges would take minutes: its pieces stay small. Hash sets load linearly,
// but a set is re-created when the rule it is named after changes (a rule
// appended to the run), so their pieces are bounded too, larger: appending
// to a 100k-rule run re-creates one piece, not 100k elements. Every piece
// costs a new connection's first packet one more lookup.
//
// Pieces end at rule boundaries only (a rule's counter stays in one set),
// and where a rule's id says so (its hash), not at fixed counts: a rule
// inserted into or deleted from a big run changes the one piece it is in,
// and the pieces after it keep their elements and names. A piece also ends
// once it holds `max` elements, so no set grows past that by much.
// Within a run the elements never overlap and share one action, so the
// order of the pieces' lookups does not matter.
export interface PieceSizes {
  /** no cut before a piece holds this many elements */
  min: number;
  /** a piece ends at the first rule boundary at or past this many */
  max: number;
  /** past min, a rule whose id hashes to 0 modulo this ends a piece */
  cutOneIn: number;
}

export const INTERVAL_PIECES: PieceSizes = { min: 512, max: 2048, cutOneIn: 512 };
export const HASH_PIECES: PieceSizes = { min: 4096, max: 16384, cutOneIn: 4096 };

/** FNV-1a: a rule id's stable 32-bit hash. */
function hash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The pieces [start, end) of a run's elements, given each element's owner
 * (contiguous per rule, in rule order). One piece when the run is small.
 */
export function runPieces(owners: string[], sizes: PieceSizes = INTERVAL_PIECES): Array<[number, number]> {
  if (owners.length <= sizes.max) return [[0, owners.length]];
  const pieces: Array<[number, number]> = [];
  let start = 0;
  for (let i = 0; i < owners.length; i++) {
    const endOfRule = i + 1 === owners.length || owners[i + 1] !== owners[i];
    if (!endOfRule) continue;
    const size = i + 1 - start;
    if (size >= sizes.max || (size >= sizes.min && hash(owners[i]) % sizes.cutOneIn === 0)) {
      pieces.push([start, i + 1]);
      start = i + 1;
    }
  }
  if (start < owners.length) pieces.push([start, owners.length]);
  return pieces;
}
