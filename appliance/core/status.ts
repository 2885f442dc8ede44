// What the box is doing now, for GET /v1/status: the revision, the
// capabilities and the last reconcile from the core, and each subsystem's
// own state (interfaces, routes, rule counters, conntrack) through its
// statusReport(), read from the kernel and daemons, never from the config.
// A read never forks per request: the report is collected at most once at a
// time and served from a cache whose age is bounded and stated in every
// answer (`cached_age_ms`, `max_age_ms`): a report older than REFRESH_AFTER_MS
// is refreshed in the background while it is still served, and one older
// than MAX_AGE_MS is never served (the read waits for a fresh collection).
// A commit or reconcile drops the cache, so the next read shows its result;
// the revision and the last reconcile (the core's own memory) are read live.
import type { Config } from '../model/schema.js';
import type { Capabilities } from '../platform/capabilities.js';
import type { Subsystem } from './subsystem.js';

/** Age at which a read starts a background refresh. */
export const STATUS_REFRESH_AFTER_MS = 1000;
/** No read is answered from a report older than this. */
export const STATUS_MAX_AGE_MS = 3000;

/** One collection: what the kernel and daemons had at collected_at. */
interface Collected {
  collected_at: string;
  revision: number | null;
  capabilities: Capabilities;
  reconcile?: unknown;
  /** each subsystem's own part (interfaces, routes, firewall, conntrack, ...) */
  [part: string]: unknown;
}

export interface StatusReport extends Collected {
  /** how old the report was when this read was answered */
  cached_age_ms: number;
  /** the bound on cached_age_ms */
  max_age_ms: number;
}

export class StatusService {
  /** the last complete report and when its collection started */
  private cached: { at: number; report: Collected } | undefined;
  /** the collection under way, if any (one at a time) */
  private collecting: Promise<{ at: number; report: Collected }> | undefined;
  /** bumped by invalidate(): a collection started before it is not cached */
  private generation = 0;

  constructor(
    private readonly subsystems: Subsystem[],
    private readonly context: () => { config?: Config; revision: number | null; capabilities: Capabilities; reconcile?: unknown },
    private readonly refreshAfterMs = STATUS_REFRESH_AFTER_MS,
    private readonly maxAgeMs = STATUS_MAX_AGE_MS,
  ) {}

  async report(): Promise<StatusReport> {
    const cached = this.cached;
    const age = cached ? Date.now() - cached.at : Infinity;
    if (cached && age <= this.maxAgeMs) {
      if (age > this.refreshAfterMs) this.refresh().catch(() => undefined);
      return this.answer(cached);
    }
    return this.answer(await this.refresh());
  }

  /** Forget the cached report (after a commit the next read must be fresh). */
  invalidate(): void {
    this.cached = undefined;
    this.collecting = undefined;
    this.generation++;
  }

  /** The cached kernel and daemon parts; the core's own figures (revision, last reconcile) are read now. */
  private answer(cached: { at: number; report: Collected }): StatusReport {
    const { revision, capabilities, reconcile } = this.context();
    return { ...cached.report, revision, capabilities, ...(reconcile ? { reconcile } : {}), cached_age_ms: Math.max(0, Date.now() - cached.at), max_age_ms: this.maxAgeMs };
  }

  /** Collects once, shared by every read that waits meanwhile; caches the result unless invalidated since. */
  private refresh(): Promise<{ at: number; report: Collected }> {
    if (this.collecting) return this.collecting;
    const generation = this.generation;
    const at = Date.now();
    const collecting = this.collect(at).then((report) => {
      if (this.generation === generation) this.cached = { at, report };
      return { at, report };
    }).finally(() => {
      if (this.collecting === collecting) this.collecting = undefined;
    });
    this.collecting = collecting;
    return collecting;
  }

  private async collect(at: number): Promise<Collected> {
    const { config, revision, capabilities, reconcile } = this.context();
    const parts = await Promise.all(this.subsystems.map((s) => s.statusReport?.(config) ?? {}));
    return {
      collected_at: new Date(at).toISOString(),
      revision,
      capabilities,
      ...Object.assign({}, ...parts),
      ...(reconcile ? { reconcile } : {}),
    };
  }
}
