// Knows when another connection (the CLI's `junction token ...`, a second
// Junction on the same state dir) committed to the SQLite database, so the
// hot read path can keep what it read in memory: SQLite's data_version
// changes exactly when a commit by ANOTHER connection becomes visible, so
// one prepared pragma per request replaces the queries and JSON parses it
// guards. This connection's own writes do not change it: their callers
// update or drop their caches themselves.
import type Database from 'better-sqlite3';

/** One cache's view of the database: each cache keeps its own, so one noticing a change does not hide it from another. */
export class ChangeWatch {
  private seen: number;

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

  /** True once after each commit by another connection (since this watch last looked). */
  changedElsewhere(): boolean {
    const now = this.version.get() as number;
    if (now === this.seen) return false;
    this.seen = now;
    return true;
  }
}
