// What the box is doing now, for GET /v1/status: the revision, the
// capabilities and the last reconcile from the core, and each subsystem's
// own state (interfaces, routes, rule counters, conntrack) through its
// statusReport(), read from the kernel and daemons, never from the config.
// Reads are cached briefly so a dashboard polling status does not fork per
// request.
import type { Config } from '../model/schema.js';
import type { Capabilities } from '../platform/capabilities.js';
import type { Subsystem } from './subsystem.js';

export interface StatusReport {
  collected_at: string;
  revision: number | null;
  capabilities: Capabilities;
  reconcile?: unknown;
  /** each subsystem's own part (interfaces, routes, firewall, conntrack, ...) */
  [part: string]: unknown;
}

export class StatusService {
  private cache: { at: number; report: Promise<StatusReport> } | undefined;

  constructor(
    private readonly subsystems: Subsystem[],
    private readonly context: () => { config?: Config; revision: number | null; capabilities: Capabilities; reconcile?: unknown },
    private readonly maxAgeMs = 1000,
  ) {}

  report(): Promise<StatusReport> {
    const now = Date.now();
    if (!this.cache || now - this.cache.at > this.maxAgeMs) {
      const report = this.collect();
      this.cache = { at: now, report };
      report.catch(() => (this.cache = undefined));
    }
    return this.cache.report;
  }

  /** Forget the cached report (after a commit the next read must be fresh). */
  invalidate(): void {
    this.cache = undefined;
  }

  private async collect(): Promise<StatusReport> {
    const { config, revision, capabilities, reconcile } = this.context();
    const parts = await Promise.all(this.subsystems.map((s) => s.statusReport?.(config) ?? {}));
    return {
      collected_at: new Date().toISOString(),
      revision,
      capabilities,
      ...Object.assign({}, ...parts),
      ...(reconcile ? { reconcile } : {}),
    };
  }
}
