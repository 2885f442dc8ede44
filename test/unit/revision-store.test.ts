// Revisions are stored as deltas from their parent, with a whole document
// now and then: every revision must read back as exactly the document that
// was committed (the same JSON text), from this connection, after a
// restart, and from a database an older Junction wrote (whole documents
// only). Big whole documents are stored deflated. The current document is
// frozen and shared.
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../appliance/core/store.js';
import { documentSchema, type Config } from '../../appliance/model/schema.js';
import { editableCopy } from '../../appliance/model/shared-document.js';
import { fuzzParameters, validishConfig } from '../support/config-arbitraries.js';

const meta = { author: 'test', comment: '', source: 'api' as const };
const schema = documentSchema();

function rules(count: number, from = 0) {
  return Array.from({ length: count }, (_, i) => ({ id: `r${from + i}`, action: 'accept' as const, services: [`tcp/${from + i + 1}`] }));
}

function policyDocument(count: number): Config {
  return { interfaces: [], zones: [{ name: 'a' }, { name: 'b' }], firewall: { policies: [{ name: 'p', from: 'a', to: 'b', rules: rules(count) }] } };
}

describe('revision store', () => {
  const dirs: string[] = [];
  const stateDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-revision-store-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const storedAs = (dir: string) => {
    const db = new Database(join(dir, 'junction.db'), { readonly: true });
    const rows = db.prepare(`select stored_as, length(document) as bytes from revisions order by id`).all() as Array<{ stored_as: string; bytes: number }>;
    db.close();
    return rows;
  };

  it('a revision staged ahead (while nft applies) is stored as staged, and one staged on an older current revision is made again', () => {
    const dir = stateDir();
    const store = new Store(dir);
    store.commitRevision(policyDocument(50), meta);
    const edit = (add: string) => {
      const copy = editableCopy(schema, store.currentRevision()!.document);
      copy.firewall!.policies[0].rules.unshift({ id: add, action: 'drop' });
      return copy;
    };
    const first = edit('first');
    const staged = store.stageRevision(first);
    expect(staged.asDelta).toBe(true);
    const text = JSON.stringify(store.commitRevision(first, meta, staged).document);
    expect(JSON.stringify(store.revision(2)!.document)).toBe(text);
    // staged against revision 2, committed after revision 3: its delta would be from the wrong parent
    const late = edit('late');
    const stale = store.stageRevision(late);
    const other = edit('other');
    store.commitRevision(other, meta);
    const lateText = JSON.stringify(store.commitRevision(late, meta, stale).document);
    store.close();
    const reopened = new Store(dir);
    expect(JSON.stringify(reopened.revision(4)!.document)).toBe(lateText);
    expect(reopened.revision(4)!.document.firewall!.policies[0].rules.map((r) => r.id).slice(0, 2)).toEqual(['late', 'first']);
    reopened.close();
  });

  it('a one-rule edit is stored as a small delta, and every revision reads back byte for byte, also after a restart', () => {
    const dir = stateDir();
    const store = new Store(dir);
    const texts = [JSON.stringify(store.commitRevision(policyDocument(2000), meta).document)];
    for (let i = 0; i < 5; i++) {
      const copy = editableCopy(schema, store.currentRevision()!.document);
      const list = copy.firewall!.policies[0].rules;
      if (i % 2) list.splice(i * 100, 1);
      else list.splice(i * 100, 0, { id: `new${i}`, action: 'drop' });
      texts.push(JSON.stringify(store.commitRevision(copy, meta).document));
    }
    const rows = storedAs(dir);
    expect(rows.map((r) => r.stored_as)).toEqual(['document', 'delta', 'delta', 'delta', 'delta', 'delta']);
    expect(Math.max(...rows.slice(1).map((r) => r.bytes))).toBeLessThan(200);
    texts.forEach((text, i) => expect(JSON.stringify(store.revision(i + 1)!.document)).toBe(text));
    store.close();

    const reopened = new Store(dir);
    const current = reopened.currentRevision()!;
    expect(current.id).toBe(6);
    expect(JSON.stringify(current.document)).toBe(texts[5]);
    expect(Object.isFrozen(current.document.firewall!.policies[0].rules[0])).toBe(true);
    texts.forEach((text, i) => expect(JSON.stringify(reopened.revision(i + 1)!.document)).toBe(text));
    reopened.close();
  });

  it('writes the whole document again once the deltas since the last one would outgrow it', () => {
    const dir = stateDir();
    const store = new Store(dir);
    store.commitRevision(policyDocument(10), meta);
    const texts: string[] = [];
    for (let i = 0; i < 12; i++) {
      const copy = editableCopy(schema, store.currentRevision()!.document);
      copy.firewall!.policies[0].rules.push(...rules(3, 100 + i * 3));
      texts.push(JSON.stringify(store.commitRevision(copy, meta).document));
    }
    const rows = storedAs(dir);
    const whole = rows.flatMap((r, i) => (r.stored_as === 'document' ? [i] : []));
    expect(whole.length).toBeGreaterThan(1);
    // between two whole documents, the deltas add up to no more than the first of them
    for (let w = 0; w < whole.length; w++) {
      const deltas = rows.slice(whole[w] + 1, whole[w + 1] ?? rows.length);
      expect(deltas.every((r) => r.stored_as === 'delta')).toBe(true);
      expect(deltas.reduce((sum, r) => sum + r.bytes, 0)).toBeLessThanOrEqual(rows[whole[w]].bytes);
    }
    texts.forEach((text, i) => expect(JSON.stringify(store.revision(i + 2)!.document)).toBe(text));
    store.close();
  });

  it('a big whole document is stored deflated, reads back exactly (also after a restart), and deltas build on it', () => {
    const dir = stateDir();
    let store = new Store(dir);
    const big = policyDocument(6_000); // about 300 KB of JSON
    const text = JSON.stringify(store.commitRevision(big, meta).document);
    expect(text.length).toBeGreaterThan(256 * 1024);
    const copy = editableCopy(schema, store.currentRevision()!.document);
    copy.firewall!.policies[0].rules.unshift({ id: 'new', action: 'drop' });
    const edited = JSON.stringify(store.commitRevision(copy, meta).document);
    const small = JSON.stringify(store.commitRevision(policyDocument(3), meta).document); // a delta too: from the deflated document
    const rows = storedAs(dir);
    expect(rows.map((r) => r.stored_as)).toEqual(['document-deflate', 'delta', 'delta']);
    expect(rows[0].bytes).toBeLessThan(text.length / 4);
    store.close();
    store = new Store(dir);
    expect(JSON.stringify(store.revision(1)!.document)).toBe(text);
    expect(JSON.stringify(store.revision(2)!.document)).toBe(edited);
    expect(JSON.stringify(store.currentRevision()!.document)).toBe(small);
    store.close();
  });

  it('any sequence of documents reads back exactly', () => {
    fc.assert(fc.property(fc.array(validishConfig(), { minLength: 1, maxLength: 6 }), (documents) => {
      const dir = stateDir();
      const store = new Store(dir);
      const texts = documents.map((doc) => JSON.stringify(store.commitRevision(structuredClone(doc) as Config, meta).document));
      texts.forEach((text, i) => expect(JSON.stringify(store.revision(i + 1)!.document)).toBe(text));
      store.close();
      const reopened = new Store(dir);
      expect(JSON.stringify(reopened.currentRevision()!.document)).toBe(texts.at(-1));
      reopened.close();
      rmSync(dir, { recursive: true, force: true });
    }), fuzzParameters(30));
  });

  it('freezes what it commits, so a reader or an edit cannot change the current document', () => {
    const store = new Store(stateDir());
    const committed = store.commitRevision(policyDocument(3), meta).document;
    expect(Object.isFrozen(committed) && Object.isFrozen(committed.firewall!.policies[0].rules[2].services)).toBe(true);
    expect(() => committed.firewall!.policies[0].rules.push(rules(1, 9)[0])).toThrow(TypeError);
    store.close();
  });

  it('opens a database an older Junction wrote (whole documents, no stored_as) and adds deltas to it', () => {
    const dir = stateDir();
    const old = new Database(join(dir, 'junction.db'));
    old.exec(`create table revisions (id integer primary key, created_at text not null, author text not null, comment text not null default '', source text not null, parent integer, document text not null);
      create table meta (key text primary key, value text not null);`);
    old.prepare(`insert into revisions (created_at, author, source, parent, document) values ('2026-01-01T00:00:00.000Z', 'old', 'api', null, ?)`).run(JSON.stringify(policyDocument(3)));
    old.exec(`insert into meta values ('current_revision', '1')`);
    old.close();

    const store = new Store(dir);
    expect(JSON.stringify(store.currentRevision()!.document)).toBe(JSON.stringify(policyDocument(3)));
    const copy = editableCopy(schema, store.currentRevision()!.document);
    copy.firewall!.policies[0].rules.splice(1, 1);
    const text = JSON.stringify(store.commitRevision(copy, meta).document);
    expect(storedAs(dir).map((r) => r.stored_as)).toEqual(['document', 'delta']);
    store.close();
    const reopened = new Store(dir);
    expect(JSON.stringify(reopened.revision(2)!.document)).toBe(text);
    reopened.close();
  });
});
