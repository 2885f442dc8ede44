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

/** The core's own figures, read at every answer. */
interface Live {
  revision: number | null;
  capabilities: Capabilities;
  reconcile?: unknown;
}

/** One collection: what the kernel and daemons had at collected_at (each subsystem's part). */
interface Collected {
  collected_at: string;
  [part: string]: unknown;
}

export interface StatusReport extends Collected, Live {
  /** how old the report was when this read was answered */
  cached_age_ms: number;
  /** the bound on cached_age_ms */
  max_age_ms: number;
}

interface Cached {
  /** when the collection started */
  at: number;
  report: Collected;
  /** the report as JSON, made at the first read that wants it */
  json?: string;
}

export class StatusService {
  /** the last complete report */
  private cached: Cached | undefined;
  /** the collection under way, if any (one at a time) */
  private collecting: Promise<Cached> | undefined;
  /** bumped by invalidate(): a collection started before it is not cached */
  private generation = 0;

  constructor(
    private readonly subsystems: Subsystem[],
    private readonly context: () => { config?: Config } & Live,
    private readonly refreshAfterMs = STATUS_REFRESH_AFTER_MS,
    private readonly maxAgeMs = STATUS_MAX_AGE_MS,
  ) {}

  async report(): Promise<StatusReport> {
    const cached = await this.current();
    return { ...cached.report, ...this.live(cached) };
  }

  /**
   * The same report as JSON text, with `extra` fields added (the route's
   * pending_confirm): the cached parts are serialized once per collection,
   * not per read.
   */
  async reportJson(extra: Record<string, unknown> = {}): Promise<string> {
    const cached = await this.current();
    cached.json ??= JSON.stringify(cached.report);
    const { revision, capabilities, reconcile } = this.context();
    // The core's figures change at commits and reconciles, not per read: serialized once per change.
    const core = this.coreJson;
    const coreText = core && core.revision === revision && core.capabilities === capabilities && core.reconcile === reconcile
      ? core.text
      : (this.coreJson = { revision, capabilities, reconcile, text: JSON.stringify({ revision, capabilities, ...(reconcile ? { reconcile } : {}), max_age_ms: this.maxAgeMs }) }).text;
    const more = JSON.stringify(extra);
    return `{"cached_age_ms":${Math.max(0, Date.now() - cached.at)},${coreText.slice(1, -1)}${more.length > 2 ? `,${more.slice(1, -1)}` : ''},${cached.json.slice(1)}`;
  }

  /** The serialized core figures of the last read, and what they were made from. */
  private coreJson: (Live & { text: string }) | undefined;

  /** Forget the cached report (after a commit the next read must be fresh). */
  invalidate(): void {
    this.cached = undefined;
    this.collecting = undefined;
    this.generation++;
  }

  /** A report no older than maxAgeMs; one older than refreshAfterMs is refreshed in the background. */
  private async current(): Promise<Cached> {
    const cached = this.cached;
    const age = cached ? Date.now() - cached.at : Infinity;
    if (cached && age <= this.maxAgeMs) {
      if (age > this.refreshAfterMs) this.refresh().catch(() => undefined);
      return cached;
    }
    return this.refresh();
  }

  /** The core's own figures (revision, last reconcile) now, and the age of the cached parts. */
  private live(cached: Cached): Live & { cached_age_ms: number; max_age_ms: number } {
    const { revision, capabilities, reconcile } = this.context();
    return { revision, capabilities, ...(reconcile ? { reconcile } : {}), cached_age_ms: Math.max(0, Date.now() - cached.at), max_age_ms: this.maxAgeMs };
  }

  /** Collects once, shared by every read that waits meanwhile; caches the result unless invalidated since. */
  private refresh(): Promise<Cached> {
    if (this.collecting) return this.collecting;
    const generation = this.generation;
    const at = Date.now();
    const collecting = this.collect(at).then((report) => {
      const cached = { at, report };
      if (this.generation === generation) this.cached = cached;
      return cached;
    }).finally(() => {
      if (this.collecting === collecting) this.collecting = undefined;
    });
    this.collecting = collecting;
    return collecting;
  }

  private async collect(at: number): Promise<Collected> {
    const { config } = this.context();
    const parts = await Promise.all(this.subsystems.map((s) => s.statusReport?.(config) ?? {}));
    const report: Collected = { collected_at: new Date(at).toISOString(), ...Object.assign({}, ...parts) };
    // the core's own figures are added at each answer; no part may shadow them
    for (const key of ['revision', 'capabilities', 'reconcile', 'cached_age_ms', 'max_age_ms', 'pending_confirm']) delete report[key];
    return report;
  }
}
