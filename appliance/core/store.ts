// Durable state in SQLite: numbered revisions of the config document, the
// pointer to the running one, API tokens (hashed) and an audit log. The
// database holds secrets, so the file is created readable by root only.
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Config } from '../model/schema.js';
import { TokenTable, type TokenInfo, type TokenScope } from './tokens.js';
import { ChangeWatch } from './change-watch.js';
import { freezeDocument } from '../model/shared-document.js';
import { applyDelta, deltaExceeds, documentDelta, type DeltaOp } from '../model/document-delta.js';

export type { TokenInfo, TokenScope } from './tokens.js';

export interface Revision {
  id: number;
  createdAt: string;
  author: string;
  comment: string;
  source: 'api' | 'rollback';
  /** the revision this one was committed on top of */
  parent: number | null;
  document: Config;
}

export type RevisionSummary = Omit<Revision, 'document'>;

export interface PendingConfirm {
  /** the revision awaiting confirmation */
  revision: number;
  /** the revision to return to if it is not confirmed */
  revertTo: number | null;
  deadline: string;
  author: string;
}

export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  revision: number | null;
  outcome: 'ok' | 'rejected' | 'failed';
  detail: string;
}

const SCHEMA = `
create table if not exists revisions (
  id integer primary key,
  created_at text not null,
  author text not null,
  comment text not null default '',
  source text not null,
  parent integer,
  document text not null,
  stored_as text not null default 'document'
);
create table if not exists meta (key text primary key, value text not null);
create table if not exists audit (
  id integer primary key,
  at text not null,
  actor text not null,
  action text not null,
  revision integer,
  outcome text not null,
  detail text not null default ''
);
`;

/**
 * At most this many deltas lie between a stored revision and the whole
 * document it is rebuilt from (reading one replays them). A one-rule commit
 * at 100k rules stores ~200 bytes against ~10 MB, so the whole document is
 * written about once per this many commits.
 */
const MAX_DELTA_CHAIN = 1000;
/** A delta of more JSON values than this (a rule is about ten) is not written: the whole document is. */
const MAX_DELTA_VALUES = 100_000;

interface DeltaChain {
  deltas: number;
  deltaBytes: number;
  documentBytes: number;
}

function toSummary(row: Record<string, unknown>): RevisionSummary {
  return {
    id: Number(row.id),
    createdAt: String(row.created_at),
    author: String(row.author),
    comment: String(row.comment ?? ''),
    source: row.source as Revision['source'],
    parent: row.parent === null || row.parent === undefined ? null : Number(row.parent),
  };
}

/** The most audit entries one read returns. */
export const MAX_AUDIT_ENTRIES = 1000;

/** A revision's stored text, computed for the store's state at the time (stageRevision). */
export interface StagedRevision {
  readonly document: Config;
  readonly parent: number | null;
  readonly chain: unknown;
  /** the delta or the whole document, as JSON */
  readonly text: string;
  readonly asDelta: boolean;
  /** what the row holds: `text`, or a big whole document deflated (STORED_DEFLATED) */
  readonly stored: string | Buffer;
}

/**
 * A whole document from this size (in JSON characters) on is stored
 * deflated: a 100k-rule document is 9.5 MB of JSON and 0.93 MB deflated
 * (26 ms at level 1, made while nft applies), and writing 9.5 MB into the
 * database after the kernel had it took 48 ms of every such commit.
 * Smaller ones stay readable JSON in the database.
 */
const DEFLATE_FROM_CHARS = 256 * 1024;
const STORED_DEFLATED = 'document-deflate';

export class Store {
  private readonly db: Database.Database;
  private readonly tokenTable: TokenTable;

  constructor(readonly stateDir: string) {
    if (!existsSync(stateDir)) mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    chmodSync(stateDir, 0o700);
    const file = join(stateDir, 'junction.db');
    this.db = new Database(file);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    // Databases from before revisions were stored as deltas hold whole documents only.
    if (!(this.db.pragma('table_info(revisions)') as Array<{ name: string }>).some((c) => c.name === 'stored_as')) {
      this.db.exec(`alter table revisions add column stored_as text not null default 'document'`);
    }
    this.watch = ChangeWatch.on(this.db);
    this.tokenTable = new TokenTable(this.db, this.watch.another());
  }

  private readonly watch: ChangeWatch;
  /**
   * The meta rows every request reads (current revision, pending confirm),
   * kept once read: this connection's writes update them, and a commit by
   * another connection (seen through data_version) drops them.
   */
  private meta = new Map<string, string | undefined>();
  private metaValue(key: string): string | undefined {
    if (this.watch.changedElsewhere()) this.meta.clear();
    if (!this.meta.has(key)) {
      const row = this.sql(`select value from meta where key = ?`).get(key) as { value: string } | undefined;
      this.meta.set(key, row?.value);
    }
    return this.meta.get(key);
  }

  close(): void {
    this.db.close();
  }

  /** Prepared once per SQL text: the token check and status run these on every request. */
  private readonly statements = new Map<string, Database.Statement>();
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  currentRevisionId(): number | null {
    const value = this.metaValue('current_revision');
    return value === undefined ? null : Number(value);
  }

  /**
   * The running revision, read once: status, every API read and every
   * commit need it, and a 100k-rule document is megabytes of JSON. Its
   * document is deep-frozen (model/shared-document.ts): shared by every
   * reader and by the next edit's copy, never mutated.
   */
  currentRevision(): Revision | undefined {
    const id = this.currentRevisionId();
    if (id === null) return undefined;
    if (this.current?.id !== id) {
      const row = this.revisionRow(id);
      const stored = row && this.storedDocument(row);
      this.current = row && stored && { ...toSummary(row), document: freezeDocument(stored.document) };
      if (stored) this.chain = stored.chain;
    }
    return this.current;
  }

  private current: Revision | undefined;
  /** How the current revision is stored: the deltas since the whole document it is rebuilt from. */
  private chain: DeltaChain = { deltas: 0, deltaBytes: 0, documentBytes: 0 };

  private revisionRow(id: number): Record<string, unknown> | undefined {
    return this.sql(`select * from revisions where id = ?`).get(id) as Record<string, unknown> | undefined;
  }

  /** A stored revision's document: the nearest whole one before it, with the deltas since applied in order. */
  private storedDocument(row: Record<string, unknown>): { document: Config; chain: DeltaChain } {
    const deltas: string[] = [];
    let base: Record<string, unknown> | undefined = row;
    while (base?.stored_as === 'delta') {
      deltas.push(String(base.document));
      base = base.parent === null ? undefined : this.revisionRow(Number(base.parent));
    }
    if (!base) throw new Error(`revision ${String(row.id)} cannot be read: a revision its delta builds on is missing`);
    const text = base.stored_as === STORED_DEFLATED ? inflateRawSync(base.document as Buffer).toString('utf8') : String(base.document);
    let document = JSON.parse(text) as unknown;
    for (const delta of deltas.reverse()) document = applyDelta(document, JSON.parse(delta) as DeltaOp[]);
    const deltaBytes = deltas.reduce((sum, delta) => sum + delta.length, 0);
    return { document: document as Config, chain: { deltas: deltas.length, deltaBytes, documentBytes: text.length } };
  }

  revision(id: number): Revision | undefined {
    const row = this.revisionRow(id);
    return row && { ...toSummary(row), document: this.storedDocument(row).document };
  }

  revisions(limit = 100, before?: number): RevisionSummary[] {
    const rows = this.db
      .prepare(`select id, created_at, author, comment, source, parent from revisions where id < ? order by id desc limit ?`)
      .all(before ?? Number.MAX_SAFE_INTEGER, limit) as Record<string, unknown>[];
    return rows.map(toSummary);
  }

  /**
   * The text a commit of `document` would store now (a delta from the
   * current revision, or the whole document), computed ahead so that a
   * commit can serialize while the kernel applies (a 100k-rule document:
   * 100 ms). commitRevision uses it while the current revision is the same.
   */
  stageRevision(document: Config): StagedRevision {
    const base = this.currentRevision();
    freezeDocument(document);
    const ops = base && documentDelta(base.document, document);
    const delta = ops && !deltaExceeds(ops, MAX_DELTA_VALUES) ? JSON.stringify(ops) : undefined;
    const asDelta = delta !== undefined && this.chain.deltas < MAX_DELTA_CHAIN && this.chain.deltaBytes + delta.length <= this.chain.documentBytes;
    const text = asDelta ? delta : JSON.stringify(document);
    const stored = !asDelta && text.length >= DEFLATE_FROM_CHARS ? deflateRawSync(text, { level: 1 }) : text;
    return { document, parent: this.currentRevisionId(), chain: this.chain, text, asDelta, stored };
  }

  /**
   * Records an applied document as the new current revision, atomically.
   * The document is frozen here: from now on it is the shared current one.
   * It is stored as its delta from the current revision (a one-rule commit
   * at 100k rules writes one rule, not 10 MB), or whole when the deltas
   * since the last whole document would outgrow it or grow too many to
   * replay. `staged`: the text stageRevision made for it (while the kernel
   * applied), used if the current revision is still the one it was made on.
   */
  commitRevision(document: Config, meta: { author: string; comment: string; source: Revision['source'] }, staged?: StagedRevision): Revision {
    const createdAt = new Date().toISOString();
    const parent = this.currentRevisionId();
    const fresh = staged && staged.document === document && staged.parent === parent && staged.chain === this.chain ? staged : this.stageRevision(document);
    const { text, asDelta, stored } = fresh;
    const insert = this.db.transaction(() => {
      const info = this.db
        .prepare(`insert into revisions (created_at, author, comment, source, parent, document, stored_as) values (?, ?, ?, ?, ?, ?, ?)`)
        .run(createdAt, meta.author, meta.comment, meta.source, parent, stored, asDelta ? 'delta' : typeof stored === 'string' ? 'document' : STORED_DEFLATED);
      const id = Number(info.lastInsertRowid);
      this.sql(`insert into meta (key, value) values ('current_revision', ?) on conflict(key) do update set value = excluded.value`).run(String(id));
      return id;
    });
    const id = insert();
    this.meta.set('current_revision', String(id));
    this.current = { id, createdAt, parent, document, ...meta };
    this.chain = asDelta
      ? { ...this.chain, deltas: this.chain.deltas + 1, deltaBytes: this.chain.deltaBytes + text.length }
      : { deltas: 0, deltaBytes: 0, documentBytes: text.length };
    return this.current;
  }

  // A commit that must be confirmed before its deadline, or it is reverted.

  pendingConfirm(): PendingConfirm | undefined {
    const value = this.metaValue('pending_confirm');
    return value === undefined ? undefined : (JSON.parse(value) as PendingConfirm);
  }

  setPendingConfirm(pending: PendingConfirm | undefined): void {
    const value = pending && JSON.stringify(pending);
    if (value === undefined) this.sql(`delete from meta where key = 'pending_confirm'`).run();
    else this.sql(`insert into meta (key, value) values ('pending_confirm', ?) on conflict(key) do update set value = excluded.value`).run(value);
    this.meta.set('pending_confirm', value);
  }

  // Tokens (core/tokens.ts): only a hash is stored; the secret is shown once, at creation.

  createToken(name: string, scope: TokenScope, expiresAt: string | null = null): { token: string; info: TokenInfo } {
    return this.tokenTable.create(name, scope, expiresAt);
  }

  /** The token a secret belongs to, expired or not (see tokenExpired). */
  authenticate(secret: string): TokenInfo | undefined {
    return this.tokenTable.authenticate(secret);
  }

  tokens(): TokenInfo[] {
    return this.tokenTable.list();
  }

  deleteToken(id: string): boolean {
    return this.tokenTable.delete(id);
  }

  tokenCount(): number {
    return this.tokenTable.count();
  }

  audit(entry: Omit<AuditEntry, 'at'>): void {
    this.db
      .prepare(`insert into audit (at, actor, action, revision, outcome, detail) values (?, ?, ?, ?, ?, ?)`)
      .run(new Date().toISOString(), entry.actor, entry.action, entry.revision, entry.outcome, entry.detail.slice(0, 2000));
  }

  /** The newest entries, newest first; at most MAX_AUDIT_ENTRIES in one read. */
  auditLog(limit = 100): AuditEntry[] {
    const bounded = Math.min(Math.max(1, Math.trunc(limit)), MAX_AUDIT_ENTRIES);
    return (this.sql(`select at, actor, action, revision, outcome, detail from audit order by id desc limit ?`).all(bounded) as AuditEntry[]);
  }
}
