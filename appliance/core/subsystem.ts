// The one contract every subsystem (system, links, routes, vpn, bgp,
// firewall; later dhcp, ha) implements: verify and render are pure; check,
// snapshot, drift and apply touch the system. The reconciler
// (core/reconciler.ts) calls them in the order main/subsystems.ts lists them.
import type { TSchema } from '@sinclair/typebox';
import type { Config } from '../model/schema.js';
import type { Problem } from '../model/problems.js';
import type { Capabilities } from '../platform/capabilities.js';
import type { KernelInterface } from '../model/selection.js';
import type { SelfService, TunnelOnly, ZoneMember } from '../../rules/index.js';
import type { MetricFamily } from './metric-samples.js';

export interface Subsystem<Artifact = unknown> {
  readonly name: string;
  /** The document section this subsystem owns beyond the core ones (its key and schema), if any. */
  readonly schemaSection?: { key: string; schema: TSchema };
  /**
   * What this subsystem needs from the firewall for this document: input
   * accepts for its own traffic (IKE, BGP, DHCP) and interfaces it adds to a
   * zone (the VPN's tunnel interface); pure. The firewall compiles what all
   * subsystems ask for, so one place answers "why is port X open?".
   */
  firewallNeeds?(config: Config, capabilities: Capabilities): FirewallNeeds;
  /**
   * The kernel's interfaces (links only): the reconciler selects the ones the
   * document picks by match and rewrites the document to kernel names
   * before verify and render (model/selection.ts), so no subsystem ever
   * sees a name the kernel does not have.
   */
  kernelInterfaces?(): Promise<KernelInterface[]>;
  /** Meaning checks this subsystem owns, on the document with kernel names; pure. */
  verify(config: Config, capabilities: Capabilities): Problem[];
  /** The artifact this subsystem would run; pure and deterministic. */
  render(config: Config, capabilities: Capabilities): Artifact;
  /**
   * The kernel-level plan lines of an artifact, by content and complete: two
   * artifacts that would apply differently always describe differently, and
   * two that apply the same describe the same (sort what the kernel does not
   * order). The reconciler set-diffs these into the plan; pure. Secrets never
   * appear in them.
   */
  describe(artifact: Artifact): string[];
  /**
   * describe()'s lines in keyed chunks (their concatenation is describe()),
   * for a subsystem with many lines: the plan skips a chunk that is the same
   * `lines` object in both artifacts and diffs the others, so a small change
   * to a big artifact costs what it changed. Without it the plan takes
   * describe() as one chunk.
   */
  describeChunks?(artifact: Artifact): readonly PlanChunk[];
  /** Checks against the live system that verify cannot make (e.g. the interface exists). */
  check?(desired: Artifact, config: Config): Promise<Problem[]>;
  /**
   * Starts reading, at the start of a commit, what this subsystem's apply
   * will read first (the firewall: its chains), so that the read runs while
   * the commit checks and compiles the document. What it returns is handed
   * to this commit's apply only (ApplyOptions.prefetched); commits hold the
   * queue, so nothing of Junction's changes the kernel in between.
   */
  prefetch?(): unknown;
  /** The running state of what `desired` touches: the target if this apply must be undone. */
  snapshot(desired: Artifact): Promise<Artifact>;
  /**
   * What differs between the running system and the artifact, by content
   * (rules, elements, routes, addresses, connections), never by signature,
   * count or hash; empty when in sync.
   */
  drift(desired: Artifact): Promise<string[]>;
  /** Makes the running system match the artifact; returns the actions taken (none when in sync: then it changes nothing). */
  apply(desired: Artifact, options?: ApplyOptions): Promise<string[]>;
  /**
   * This subsystem's part of GET /v1/status, read from the kernel or its
   * daemon (never from the config; the config only names what it finds).
   * Status never changes anything.
   */
  statusReport?(config: Config | undefined): Promise<Record<string, unknown>>;
  /**
   * Its part of GET /metrics: counters and gauges read from the kernel or
   * its daemon, the config only naming what is found (core/metric-samples.ts;
   * core/metrics.ts caches and formats them). Reads only.
   */
  metrics?(config: Config | undefined): Promise<MetricFamily[]>;
  /**
   * The pending commit was confirmed. Drivers whose daemon has its own
   * commit-confirm (BIRD's `configure timeout`) make it permanent here.
   */
  confirm?(): Promise<void>;
}

/** Some of a describe() result's lines, under a key that names the same part in another artifact's. */
export interface PlanChunk {
  key: string;
  lines: readonly string[];
}

export interface FirewallNeeds {
  selfServices?: SelfService[];
  zoneMembers?: ZoneMember[];
  /** networks that may only leave through one interface (a fail-closed tunnel's remote subnets) */
  tunnelOnly?: TunnelOnly;
}

export interface ApplyOptions {
  /** the commit reverts unless confirmed within this many seconds */
  confirmTimeoutS?: number;
  /**
   * The commit's own work that does not depend on the kernel (its plan, the
   * revision's serialization): a subsystem that waits for a long kernel
   * round trip (nft with 100k elements) calls it after starting the round
   * trip and before awaiting it, so the two run at once. It runs once, never
   * throws (applyAll keeps its failure), and apply must not depend on it.
   */
  meanwhile?: () => void;
  /** what this subsystem's prefetch() returned at the start of this commit */
  prefetched?: unknown;
}

/** Raised by apply with the document path of the object that the system rejected, when known. */
export class ApplyFailed extends Error {
  constructor(
    readonly subsystem: string,
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = 'ApplyFailed';
  }
}
