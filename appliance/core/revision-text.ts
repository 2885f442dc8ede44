// How a revision's document is written to and read from the revisions
// table: as a delta from its parent (revision-delta.ts) when that is small,
// and whole otherwise, and always whole after MAX_DELTA_CHAIN deltas in a
// row, so that reading any revision replays at most that many.
import { applyRevisionDelta, revisionDelta, type DeltaOp } from './revision-delta.js';

/** Deltas in a row before a whole document is stored again. */
export const MAX_DELTA_CHAIN = 100;

export interface StoredDocument {
  /** the row's document column: the document's JSON, or its delta's */
  text: string;
  /** text is a delta from the parent revision */
  delta: boolean;
  /** deltas since the nearest whole document (0: this one is whole) */
  chain: number;
}

/**
 * The stored form of `document`, committed on top of `parent` (its document
 * and chain; undefined for the first revision). `whole` writes the whole
 * document's JSON (the store may have a faster way than JSON.stringify).
 */
export function storedDocument(document: unknown, parent: { document: unknown; chain: number } | undefined, whole: (document: unknown) => string = JSON.stringify): StoredDocument {
  const ops = parent && parent.chain < MAX_DELTA_CHAIN ? revisionDelta(parent.document, document) : undefined;
  return ops ? { text: JSON.stringify(ops), delta: true, chain: parent!.chain + 1 } : { text: whole(document), delta: false, chain: 0 };
}

/** A stored row as far as its document goes. */
export interface DocumentRow {
  id: number;
  parent: number | null;
  text: string;
  delta: boolean;
}

/**
 * The document of revision `id`: its nearest whole ancestor, parsed, with the
 * deltas from there on applied in order. `row` reads one row.
 */
export function documentOf(id: number, row: (id: number) => DocumentRow | undefined): unknown {
  const deltas: DeltaOp[][] = [];
  let at = row(id);
  while (at?.delta) {
    if (at.parent === null || deltas.length > MAX_DELTA_CHAIN) throw new Error(`revision ${id}: its stored chain of deltas is broken at revision ${at.id}`);
    deltas.push(JSON.parse(at.text) as DeltaOp[]);
    at = row(at.parent);
  }
  if (!at) throw new Error(`revision ${id}: a revision its stored delta needs is missing`);
  let document = JSON.parse(at.text) as unknown;
  for (let i = deltas.length - 1; i >= 0; i--) document = applyRevisionDelta(document, deltas[i]!);
  return document;
}
