// API tokens in the store's SQLite database: only a SHA-256 hash of each
// secret is kept (the secret is shown once, at creation). A token has a
// scope (read < operate < admin) and may expire. The table predates scopes
// beyond read/admin and expiry, so opening an older database adds the
// column in place: existing tokens keep their scope and never expire.
import type Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import type { ChangeWatch } from './change-watch.js';

/** Ordered: each scope can do what the ones before it can. */
export const TOKEN_SCOPES = ['read', 'operate', 'admin'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export const isTokenScope = (value: unknown): value is TokenScope => TOKEN_SCOPES.includes(value as TokenScope);

/** True when a token of scope `held` may do what needs `needed`. */
export const scopeCovers = (held: TokenScope, needed: TokenScope) => TOKEN_SCOPES.indexOf(held) >= TOKEN_SCOPES.indexOf(needed);

export interface TokenInfo {
  id: string;
  name: string;
  scope: TokenScope;
  createdAt: string;
  lastUsedAt: string | null;
  /** ISO time after which the token is refused; null: it never expires */
  expiresAt: string | null;
}

export const TOKENS_TABLE = `
create table if not exists tokens (
  id text primary key,
  name text not null,
  scope text not null,
  hash text not null unique,
  created_at text not null,
  last_used_at text,
  expires_at text
);`;

export class TokenNameTaken extends Error {}

const hashToken = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** Brings a tokens table made by an older Junction up to date; a no-op on a current one. */
export function migrateTokens(db: Database.Database): void {
  const columns = (db.prepare(`pragma table_info(tokens)`).all() as Array<{ name: string }>).map((c) => c.name);
  // ALTER TABLE ... ADD COLUMN keeps every row; NULL = never expires.
  if (!columns.includes('expires_at')) db.exec(`alter table tokens add column expires_at text`);
}

function toInfo(row: Record<string, unknown>): TokenInfo {
  return {
    id: String(row.id),
    name: String(row.name),
    scope: row.scope as TokenScope,
    createdAt: String(row.created_at),
    lastUsedAt: (row.last_used_at as string | null) ?? null,
    expiresAt: (row.expires_at as string | null) ?? null,
  };
}

/** Once a minute at most, a token's last use is written back (reads are the hot path). */
const TOUCH_EVERY_MS = 60_000;

/** A token row as read, what authenticate answers for it (frozen: every request gets the same object), and when its last use was written (ms). */
interface KnownToken {
  row: Record<string, string>;
  info: TokenInfo;
  touchedAt: number;
}

export class TokenTable {
  private readonly byHash: Database.Statement;
  private readonly touch: Database.Statement;
  /**
   * Rows by hash, read once: every API request authenticates. Dropped on
   * this table's own writes (revoke through the API: refused at the next
   * request) and on a commit by another connection (seen within
   * LOOK_EVERY_MS, change-watch.ts).
   */
  private readonly rows = new Map<string, KnownToken>();

  constructor(private readonly db: Database.Database, private readonly watch: ChangeWatch) {
    db.exec(TOKENS_TABLE);
    migrateTokens(db);
    this.byHash = db.prepare(`select * from tokens where hash = ?`);
    this.touch = db.prepare(`update tokens set last_used_at = ? where id = ?`);
  }

  /** Throws TokenNameTaken when a token of that name exists: names are how people revoke them. */
  create(name: string, scope: TokenScope, expiresAt: string | null = null): { token: string; info: TokenInfo } {
    if (this.db.prepare(`select 1 from tokens where name = ?`).get(name)) throw new TokenNameTaken(`a token named "${name}" exists already`);
    const secret = `jct_${randomBytes(24).toString('base64url')}`;
    const id = randomBytes(6).toString('hex');
    const createdAt = new Date().toISOString();
    this.db.prepare(`insert into tokens (id, name, scope, hash, created_at, expires_at) values (?, ?, ?, ?, ?, ?)`).run(id, name, scope, hashToken(secret), createdAt, expiresAt);
    this.rows.clear();
    return { token: secret, info: { id, name, scope, createdAt, lastUsedAt: null, expiresAt } };
  }

  /**
   * The token a secret belongs to, expired or not (the caller decides what
   * an expired one gets, so it can say why it is refused).
   */
  authenticate(secret: string): TokenInfo | undefined {
    if (this.watch.changedElsewhere()) this.rows.clear();
    const hash = hashToken(secret);
    // Found by the secret's hash: an equal hash is the only match, and no
    // comparison here involves the secret itself (what timing could leak is
    // about a SHA-256 digest, which does not lead back to the secret).
    let known = this.rows.get(hash);
    if (!known) {
      const row = this.byHash.get(hash) as Record<string, string> | undefined;
      if (!row) return undefined;
      known = { row, info: Object.freeze(toInfo(row)), touchedAt: row.last_used_at ? Date.parse(row.last_used_at) : -Infinity };
      this.rows.set(hash, known);
    }
    // Per request only a clock read: the row, its answer and its last-use time are kept (this runs on every request).
    const now = Date.now();
    if (now - known.touchedAt > TOUCH_EVERY_MS) {
      known.row.last_used_at = new Date(now).toISOString();
      known.touchedAt = now;
      known.info = Object.freeze(toInfo(known.row));
      this.touch.run(known.row.last_used_at, known.row.id);
    }
    return known.info;
  }

  list(): TokenInfo[] {
    const rows = this.db.prepare(`select id, name, scope, created_at, last_used_at, expires_at from tokens order by created_at`).all() as Record<string, unknown>[];
    return rows.map(toInfo);
  }

  delete(id: string): boolean {
    this.rows.clear();
    return this.db.prepare(`delete from tokens where id = ?`).run(id).changes > 0;
  }

  count(): number {
    return (this.db.prepare(`select count(*) as n from tokens`).get() as { n: number }).n;
  }
}

/** True when the token's expiry has passed at `now`. */
export const tokenExpired = (token: TokenInfo, now = Date.now()) => token.expiresAt !== null && Date.parse(token.expiresAt) <= now;
