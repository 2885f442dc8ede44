import { describe, expect, it } from 'vitest';
import { documentOf, storedDocument, MAX_DELTA_CHAIN, type DocumentRow } from '../../appliance/core/revision-text.js';

// The store's revisions table, as far as documents go: each commit stored on top of the one before.
function commitAll(documents: unknown[]): Map<number, DocumentRow & { chain: number }> {
  const rows = new Map<number, DocumentRow & { chain: number }>();
  documents.forEach((document, i) => {
    const parent = i === 0 ? undefined : { document: documents[i - 1], chain: rows.get(i)!.chain };
    const stored = storedDocument(document, parent);
    rows.set(i + 1, { id: i + 1, parent: i === 0 ? null : i, text: stored.text, delta: stored.delta, chain: stored.chain });
  });
  return rows;
}

describe('revision documents as stored', () => {
  const rules = Array.from({ length: 2_000 }, (_, i) => ({ id: `r${i}`, action: i % 2 ? 'accept' : 'drop' }));
  // each revision inserts or deletes one rule, sharing the rest (as the API's edits do)
  const documents: Array<{ rules: unknown[] }> = [{ rules }];
  for (let i = 1; i < MAX_DELTA_CHAIN + 30; i++) {
    const previous = documents[i - 1]!.rules;
    documents.push({ rules: i % 3 ? [...previous.slice(0, i), { id: `n${i}`, action: 'drop' }, ...previous.slice(i)] : previous.filter((_, j) => j !== i) });
  }
  const rows = commitAll(documents);

  it('reads every revision back as exactly the JSON it was committed as', () => {
    for (const [id] of rows) expect(JSON.stringify(documentOf(id, (n) => rows.get(n)))).toBe(JSON.stringify(documents[id - 1]));
  });

  it('stores one-rule changes as small deltas, and a whole document after MAX_DELTA_CHAIN of them', () => {
    expect(rows.get(1)!.delta).toBe(false);
    expect(rows.get(2)!.delta).toBe(true);
    expect(rows.get(2)!.text.length).toBeLessThan(200);
    expect(rows.get(MAX_DELTA_CHAIN + 1)!.chain).toBe(MAX_DELTA_CHAIN);
    expect(rows.get(MAX_DELTA_CHAIN + 2)!).toMatchObject({ delta: false, chain: 0 });
    expect(rows.get(MAX_DELTA_CHAIN + 3)!).toMatchObject({ delta: true, chain: 1 });
  });

  it('stores a document with nothing in common whole', () => {
    const stored = storedDocument({ other: Array.from({ length: 60_000 }, (_, i) => i) }, { document: documents[0], chain: 0 });
    expect(stored).toMatchObject({ delta: false, chain: 0 });
  });

  it('says so when a delta it needs is missing', () => {
    expect(() => documentOf(5, (n) => (n === 5 ? rows.get(5) : n === 4 ? rows.get(4) : undefined))).toThrow(/revision 5: a revision its stored delta needs is missing/);
  });
});
