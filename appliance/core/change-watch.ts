// Knows when another connection committed to the SQLite database, so the
// hot read path can keep what it read in memory. Every write of a running
// Junction goes through its own connection (the CLI's `junction token ...`
// calls the API), so this is for writes from outside: an operator's sqlite3,
// a test. SQLite's data_version changes exactly when a commit by ANOTHER
// connection becomes visible; it is asked at most every LOOK_EVERY_MS,
// because the pragma opens a read transaction (measured: about a third of a
// cached status read). This connection's own writes do not change it: their
// callers update or drop their caches themselves.
import type Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';

/** A write from another connection is seen within this long. */
export const LOOK_EVERY_MS = 100;

/** One cache's view of the database: each cache keeps its own, so one noticing a change does not hide it from another. */
export class ChangeWatch {
  private seen: number;
  private lookedAt = performance.now();

  constructor(private readonly version: Database.Statement) {
    this.seen = version.get() as number;
  }

  /** A watch on `db` (one prepared pragma, shared by the watches made from it with `another`). */
  static on(db: Database.Database): ChangeWatch {
    return new ChangeWatch(db.prepare('pragma data_version').pluck());
  }

  another(): ChangeWatch {
    return new ChangeWatch(this.version);
  }

  /** True once after commits by another connection (since this watch last looked, at most LOOK_EVERY_MS ago). */
  changedElsewhere(): boolean {
    const at = performance.now();
    if (at - this.lookedAt < LOOK_EVERY_MS) return false;
    this.lookedAt = at;
    const now = this.version.get() as number;
    if (now === this.seen) return false;
    this.seen = now;
    return true;
  }
}
