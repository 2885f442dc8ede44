// GET /metrics: assembles the subsystems' metric families (their
// `metrics()`, core/metric-samples.ts) and the core's own (commits, the
// revision, build info) into Prometheus text with prom-client. Scrapes
// must not load the kernel and daemons in proportion to their rate, so a
// collection is reused until it is older than maxAgeS (one at a time;
// concurrent scrapes share it), and the age of what is served is itself a
// metric. A subsystem that fails or hangs costs only its own families
// (junction_metrics_collector_up says which).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from '../model/schema.js';
import type { Subsystem } from './subsystem.js';
import type { CommitAttempt } from './reconciler.js';
import type { Logger } from '../platform/log.js';
import { SHARED_FAMILIES, type MetricFamily, type MetricSpec } from './metric-samples.js';

export const DEFAULT_METRICS_MAX_AGE_S = 5;
/** A subsystem's collection that takes longer than this is abandoned for this round. */
const COLLECT_TIMEOUT_MS = 4_000;

export interface MetricsContext {
  config?: Config;
  revision: number | null;
  pendingConfirm: boolean;
}

export interface MetricsOptions {
  maxAgeS?: number;
  /** what junction_build_info carries */
  build: { version: string };
  /** where a subsystem that cannot be read is reported */
  log?: Logger;
}

interface Collection {
  at: number;
  done: boolean;
  text: Promise<string>;
}

export class MetricsService {
  readonly contentType = new Registry().contentType;
  readonly maxAgeS: number;
  private cache: Collection | undefined;
  /** kept across collections, fed by events: commits, collections, build info */
  private readonly live = new Registry();
  private readonly commits = new Counter({ name: 'junction_commits_total', help: 'Commits that reached apply, by source (api, rollback) and outcome (applied, failed: rolled back)', labelNames: ['source', 'outcome'], registers: [this.live] });
  private readonly commitSeconds = new Histogram({ name: 'junction_commit_duration_seconds', help: 'How long a commit took from apply to stored, failed ones (with their rollback) included', labelNames: ['outcome'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.live] });
  private readonly applySeconds = new Histogram({ name: 'junction_commit_apply_seconds', help: "How long each subsystem's apply took in a commit (its nft, ip, VICI or bird round trips), failed ones included", labelNames: ['subsystem'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.live] });
  private readonly collections = new Counter({ name: 'junction_metrics_collections_total', help: 'Readings of the kernel and daemons for /metrics (at most one per max age, however often it is scraped)', registers: [this.live] });
  private readonly reverts = new Counter({ name: 'junction_commit_reverts_total', help: 'Unconfirmed commits reverted (confirm timeout or cancel)', registers: [this.live] });

  constructor(
    private readonly subsystems: ReadonlyArray<Pick<Subsystem, 'name' | 'metrics'>>,
    private readonly context: () => MetricsContext,
    private readonly options: MetricsOptions,
  ) {
    this.maxAgeS = options.maxAgeS ?? DEFAULT_METRICS_MAX_AGE_S;
    for (const outcome of ['applied', 'failed']) this.commitSeconds.zero({ outcome });
    new Gauge({ name: 'junction_build_info', help: 'Always 1; the labels say which Junction and Node run', labelNames: ['version', 'node'], registers: [this.live] }).set({ version: options.build.version, node: process.versions.node }, 1);
  }

  noteCommit(attempt: CommitAttempt): void {
    const outcome = attempt.ok ? 'applied' : 'failed';
    this.commits.inc({ source: attempt.source, outcome });
    this.commitSeconds.observe({ outcome }, attempt.seconds);
    for (const [subsystem, seconds] of Object.entries(attempt.applySeconds)) this.applySeconds.observe({ subsystem }, seconds);
    if (attempt.revert && attempt.ok) this.reverts.inc();
  }

  /** The whole exposition: the cached collection (refreshed when too old) and the live metrics. */
  async exposition(): Promise<string> {
    const now = Date.now();
    if (!this.cache || (this.cache.done && now - this.cache.at > this.maxAgeS * 1000)) {
      this.collections.inc();
      const collection: Collection = { at: now, done: false, text: this.collect() };
      this.cache = collection;
      collection.text.then(() => (collection.done = true), () => {
        if (this.cache === collection) this.cache = undefined;
      });
    }
    const { at, text } = this.cache;
    const collected = await text;
    return collected + (await this.live.metrics()) + (await this.current(at).metrics());
  }

  /** What the core knows without asking anyone, as of now: the revision, a pending confirm, the age of the reading. */
  private current(collectedAt: number): Registry {
    const registry = new Registry();
    const { revision, pendingConfirm } = this.context();
    const gauge = (name: string, help: string, value: number) => new Gauge({ name, help, registers: [registry] }).set(value);
    if (revision !== null) gauge('junction_revision', 'The revision running now (absent before the first commit)', revision);
    gauge('junction_commit_pending_confirm', 'Whether a commit awaits confirmation (1) or not (0)', pendingConfirm ? 1 : 0);
    gauge('junction_metrics_age_seconds', 'Age of the kernel and daemon readings in this answer (they are reused for up to the configured max age)', (Date.now() - collectedAt) / 1000);
    return registry;
  }

  private async collect(): Promise<string> {
    const started = performance.now();
    const { config } = this.context();
    const results = await Promise.all(this.subsystems.filter((s) => s.metrics).map(async (s) => ({ subsystem: s.name, families: await withTimeout(s.metrics!(config), COLLECT_TIMEOUT_MS).catch((error: Error) => {
      this.options.log?.warn('metrics: a subsystem could not be read', { subsystem: s.name, error: error.message });
      return undefined;
    }) })));
    const registry = new Registry();
    const families = new Map<string, { spec: MetricSpec; metric: Counter | Gauge }>();
    const declare = (spec: MetricSpec) => {
      const known = families.get(spec.name);
      if (known) {
        if (known.spec.type !== spec.type || known.spec.labelNames.join() !== spec.labelNames.join()) throw new Error(`metric ${spec.name} is declared twice, differently`);
        return known.metric;
      }
      const settings = { name: spec.name, help: spec.help, labelNames: [...spec.labelNames], registers: [registry] };
      const metric = spec.type === 'counter' ? new Counter(settings) : new Gauge(settings);
      families.set(spec.name, { spec, metric });
      return metric;
    };
    const fill = async (family: MetricFamily) => {
      // prom-client shows an unset metric without labels as 0: a reading that failed must be absent instead
      if (!family.labelNames.length && !family.samples.length) return;
      const metric = declare(family);
      for (const [i, { labels = {}, value }] of family.samples.entries()) {
        if (i % YIELD_EVERY === YIELD_EVERY - 1) await letOthersRun();
        if (!Number.isFinite(value)) continue;
        if (metric instanceof Counter) metric.inc(labels, value);
        else metric.set(labels, value);
      }
    };
    Object.values(SHARED_FAMILIES).forEach(declare);
    for (const { families: contributed } of results) for (const family of contributed ?? []) await fill(family);
    const core: MetricFamily[] = [
      { name: 'junction_metrics_collector_up', help: "Whether a subsystem's metrics could be read in this collection (1) or not (0: its families are missing)", type: 'gauge', labelNames: ['subsystem'], samples: results.map((r) => ({ labels: { subsystem: r.subsystem }, value: r.families ? 1 : 0 })) },
      { name: 'junction_metrics_collect_duration_seconds', help: 'How long reading the kernel and daemons took for this collection', type: 'gauge', labelNames: [], samples: [{ value: (performance.now() - started) / 1000 }] },
    ];
    for (const family of core) await fill(family);
    // family by family, as registry.metrics() would join them, letting requests in between
    const texts: string[] = [];
    for (const name of families.keys()) {
      texts.push(await registry.getSingleMetricAsString(name));
      await letOthersRun();
    }
    return `${texts.join('\n\n')}\n`;
  }
}

/**
 * Formatting is synchronous CPU work (100k firewall rules: 200k series, over
 * a second on a small machine): it is done in slices, and API requests are
 * served between them.
 */
const YIELD_EVERY = 10_000;
const letOthersRun = () => new Promise<void>((resolve) => setImmediate(resolve));

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
