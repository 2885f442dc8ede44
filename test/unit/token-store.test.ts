// The tokens table of a database an older Junction wrote (no expires_at,
// scopes admin and read only) opens in place: every token keeps working
// with the scope it had and never expires; new tokens can expire.
import { afterEach, describe, expect, it, vi } from 'vitest';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../appliance/core/store.js';
import { scopeCovers, tokenExpired } from '../../appliance/core/tokens.js';
import { LOOK_EVERY_MS } from '../../appliance/core/change-watch.js';

const OLD_TOKENS = `create table tokens (
  id text primary key, name text not null, scope text not null, hash text not null unique,
  created_at text not null, last_used_at text
);`;

const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');

describe('token store', () => {
  const dirs: string[] = [];
  const stateDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-token-store-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('migrates an old tokens table: existing tokens keep their scope and do not expire', () => {
    const dir = stateDir();
    const old = new Database(join(dir, 'junction.db'));
    old.exec(OLD_TOKENS);
    old.prepare(`insert into tokens values (?, ?, ?, ?, ?, ?)`).run('a1', 'bootstrap', 'admin', hash('jct_old-admin'), '2026-01-01T00:00:00.000Z', null);
    old.prepare(`insert into tokens values (?, ?, ?, ?, ?, ?)`).run('r1', 'grafana', 'read', hash('jct_old-read'), '2026-01-02T00:00:00.000Z', '2026-02-01T00:00:00.000Z');
    old.close();

    const store = new Store(dir);
    expect(store.authenticate('jct_old-admin')).toMatchObject({ id: 'a1', name: 'bootstrap', scope: 'admin', expiresAt: null });
    expect(store.authenticate('jct_old-read')).toMatchObject({ id: 'r1', name: 'grafana', scope: 'read', expiresAt: null });
    expect(store.tokens().map((t) => [t.name, t.scope, t.expiresAt])).toEqual([['bootstrap', 'admin', null], ['grafana', 'read', null]]);
    const { token } = store.createToken('noc', 'operate', '2030-01-01T00:00:00.000Z');
    expect(store.authenticate(token)).toMatchObject({ scope: 'operate', expiresAt: '2030-01-01T00:00:00.000Z' });
    store.close();
    // Opening it again (now current) changes nothing.
    const again = new Store(dir);
    expect(again.tokens().map((t) => t.name)).toEqual(['bootstrap', 'grafana', 'noc']);
    again.close();
  });

  it('orders scopes read < operate < admin, and expires at expires_at', () => {
    expect(scopeCovers('admin', 'operate')).toBe(true);
    expect(scopeCovers('operate', 'operate')).toBe(true);
    expect(scopeCovers('operate', 'admin')).toBe(false);
    expect(scopeCovers('read', 'operate')).toBe(false);
    const token = { id: 'x', name: 'x', scope: 'read' as const, createdAt: '', lastUsedAt: null, expiresAt: '2026-06-01T00:00:00.000Z' };
    expect(tokenExpired(token, Date.parse('2026-05-31T23:59:59.999Z'))).toBe(false);
    expect(tokenExpired(token, Date.parse('2026-06-01T00:00:00.000Z'))).toBe(true);
    expect(tokenExpired({ ...token, expiresAt: null }, Date.parse('2100-01-01T00:00:00.000Z'))).toBe(false);
  });

  it('writes a token\'s last use at most once a minute, and answers with it', () => {
    const dir = stateDir();
    const store = new Store(dir);
    const { token, info } = store.createToken('ops', 'read');
    const stored = () => new Database(join(dir, 'junction.db'), { readonly: true });
    const lastUsed = () => {
      const db = stored();
      try {
        return (db.prepare(`select last_used_at from tokens where id = ?`).get(info.id) as { last_used_at: string | null }).last_used_at;
      } finally {
        db.close();
      }
    };
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.parse('2030-01-01T00:00:00.000Z'));
      expect(store.authenticate(token)?.lastUsedAt).toBe('2030-01-01T00:00:00.000Z');
      expect(lastUsed()).toBe('2030-01-01T00:00:00.000Z');
      vi.setSystemTime(Date.parse('2030-01-01T00:00:59.000Z'));
      expect(store.authenticate(token)?.lastUsedAt).toBe('2030-01-01T00:00:00.000Z'); // within the minute: neither written nor changed
      expect(lastUsed()).toBe('2030-01-01T00:00:00.000Z');
      vi.setSystemTime(Date.parse('2030-01-01T00:01:01.000Z'));
      expect(store.authenticate(token)?.lastUsedAt).toBe('2030-01-01T00:01:01.000Z');
      expect(lastUsed()).toBe('2030-01-01T00:01:01.000Z');
      expect(store.authenticate('jct_not-a-token')).toBeUndefined();
    } finally {
      vi.useRealTimers();
      store.close();
    }
  });

  // The API keeps tokens and the current revision in memory (every request
  // reads them); an operator's sqlite3 may write the same database.
  it('sees a token revoked and a revision committed by another connection within LOOK_EVERY_MS', async () => {
    const dir = stateDir();
    const server = new Store(dir);
    const { token, info } = server.createToken('ops', 'admin');
    expect(server.authenticate(token)?.name).toBe('ops');
    expect(server.currentRevisionId()).toBeNull();

    const cli = new Store(dir);
    expect(cli.deleteToken(info.id)).toBe(true);
    cli.commitRevision({ interfaces: [], zones: [] } as never, { author: 'cli', comment: '', source: 'api' });
    cli.setPendingConfirm({ revision: 1, revertTo: null, deadline: '2030-01-01T00:00:00.000Z', author: 'cli' });
    cli.close();

    await new Promise((resolve) => setTimeout(resolve, LOOK_EVERY_MS + 5));
    expect(server.authenticate(token)).toBeUndefined();
    expect(server.currentRevisionId()).toBe(1);
    expect(server.pendingConfirm()?.revision).toBe(1);
    // and its own writes are seen at once
    server.setPendingConfirm(undefined);
    expect(server.pendingConfirm()).toBeUndefined();
    server.close();
  });
});
