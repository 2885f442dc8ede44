// Splits the elements of a big run that needs an interval set into pieces,
// each its own set and lookup. The kernel's concatenated interval set
// (pipapo) takes time quadratic in its size to load (measured on this
// kernel: 16k elements 2.4 s, 64k elements 35 s, 1k elements 0.03 s), so
// one 100k-rule run of ranges would take minutes. Hash sets load linearly
// and are never split: every piece costs each packet one more lookup.
//
// Pieces end at rule boundaries only (a rule's counter stays in one set),
// and where a rule's id says so (its hash), not at fixed counts: a rule
// inserted into or deleted from a big run changes the one piece it is in,
// and the pieces after it keep their elements and names. A piece also ends
// once it holds MAX_PIECE elements, so no set grows past that by much.
// Within a run the elements never overlap and share one action, so the
// order of the pieces' lookups does not matter.
const MIN_PIECE = 512;
const MAX_PIECE = 2048;
const CUT_ONE_IN = 512;

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
export function runPieces(owners: string[]): Array<[number, number]> {
  if (owners.length <= MAX_PIECE) return [[0, owners.length]];
  const pieces: Array<[number, number]> = [];
  let start = 0;
  for (let i = 0; i < owners.length; i++) {
    const endOfRule = i + 1 === owners.length || owners[i + 1] !== owners[i];
    if (!endOfRule) continue;
    const size = i + 1 - start;
    if (size >= MAX_PIECE || (size >= MIN_PIECE && hash(owners[i]) % CUT_ONE_IN === 0)) {
      pieces.push([start, i + 1]);
      start = i + 1;
    }
  }
  if (start < owners.length) pieces.push([start, owners.length]);
  return pieces;
}
