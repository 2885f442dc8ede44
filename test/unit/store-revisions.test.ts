import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../appliance/core/store.js';
import type { Config } from '../../appliance/model/schema.js';

// Revisions are stored as deltas from their parent where that is small: every
// revision must still read back exactly, after a restart too, and a database
// from before deltas keeps working.
describe('stored revisions', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'junction-store-test-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  const meta = { author: 'test', comment: '', source: 'api' as const };
  const documents = () => {
    const rules = Array.from({ length: 3_000 }, (_, i) => ({ id: `r${i}`, action: 'accept' }));
    const first = { interfaces: [], zones: [], firewall: { policies: [{ name: 'p', from: 'a', to: 'b', rules }] } } as unknown as Config;
    const second = { ...first, firewall: { policies: [{ ...first.firewall!.policies[0]!, rules: [{ id: 'new', action: 'drop' }, ...rules] }] } } as unknown as Config;
    const third = { ...second, zones: [{ name: 'a' }] } as unknown as Config;
    return [first, second, third];
  };
  const sizes = (stateDir: string) => {
    const db = new Database(join(stateDir, 'junction.db'), { readonly: true });
    try {
      return db.prepare(`select id, delta, length(document) as bytes from revisions order by id`).all() as Array<{ id: number; delta: number; bytes: number }>;
    } finally {
      db.close();
    }
  };

  it('reads every revision back exactly, from this store and from a new one on the same database', () => {
    const stateDir = dir();
    const store = new Store(stateDir);
    const docs = documents();
    for (const d of docs) store.commitRevision(d, meta);
    const rows = sizes(stateDir);
    expect(rows.map((r) => r.delta)).toEqual([0, 1, 1]);
    expect(rows[1]!.bytes).toBeLessThan(200);
    store.close();
    const again = new Store(stateDir);
    expect(JSON.stringify(again.currentRevision()!.document)).toBe(JSON.stringify(docs[2]));
    docs.forEach((d, i) => expect(JSON.stringify(again.revision(i + 1)!.document)).toBe(JSON.stringify(d)));
    expect(again.revisions().map((r) => r.id)).toEqual([3, 2, 1]);
    again.close();
  });

  it('opens a database from before deltas and commits deltas on top of its whole documents', () => {
    const stateDir = dir();
    const old = new Database(join(stateDir, 'junction.db'));
    old.exec(`create table revisions (id integer primary key, created_at text not null, author text not null, comment text not null default '', source text not null, parent integer, document text not null);
      create table meta (key text primary key, value text not null);`);
    const [first, second] = documents();
    old.prepare(`insert into revisions (created_at, author, source, parent, document) values ('2026-01-01T00:00:00Z', 'old', 'api', null, ?)`).run(JSON.stringify(first));
    old.prepare(`insert into meta (key, value) values ('current_revision', '1')`).run();
    old.close();
    const store = new Store(stateDir);
    expect(JSON.stringify(store.currentRevision()!.document)).toBe(JSON.stringify(first));
    store.commitRevision(second!, meta);
    expect(sizes(stateDir).map((r) => r.delta)).toEqual([0, 1]);
    expect(JSON.stringify(store.revision(2)!.document)).toBe(JSON.stringify(second));
    store.close();
  });
});
