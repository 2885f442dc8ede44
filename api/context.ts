// What the API plugins share: the pipeline, the store and status, plus the
// one helper every mutating route uses to turn an edit into a commit, and
// the one every read of the document uses (it sets the revision as ETag).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Reconciler, CommitOutcome } from '../appliance/core/reconciler.js';
import type { PendingConfirm, Revision, Store } from '../appliance/core/store.js';
import type { StatusService } from '../appliance/core/status.js';
import type { MetricsService } from '../appliance/core/metrics.js';
import type { VpnControl } from '../appliance/subsystems/vpn/control.js';
import type { BgpControl } from '../appliance/subsystems/bgp/control.js';
import type { DhcpControl } from '../appliance/subsystems/dhcp/index.js';
import type { FirewallLog } from '../appliance/subsystems/firewall/log-reader.js';
import { emptyConfig, type Config } from '../appliance/model/schema.js';
import { redactSecrets } from '../appliance/model/secrets.js';
import type { Logger } from '../appliance/platform/log.js';
import { actor } from './auth.js';
import { HttpError } from './errors.js';
import { checkPrecondition, etagOf, ifMatchOf } from './revision-tags.js';

export interface ApiContext {
  reconciler: Reconciler;
  store: Store;
  status: StatusService;
  /** the IPsec subsystem (status, initiate/terminate, events); absent in tests without one */
  vpn?: VpnControl;
  /** the BGP subsystem (status, learned routes, neighbor resets); absent in tests without one */
  bgp?: BgpControl;
  /** the DHCP subsystem (leases); absent in tests without one */
  dhcp?: DhcpControl;
  /** reads the firewall's packet log (absent in unit tests) */
  firewallLog?: FirewallLog;
  /** GET /metrics (absent: no such route) and the networks that may scrape it without a token */
  metrics?: { service: MetricsService; allow: string[] };
  /** where 5xx answers are logged (default: a JSON logger on stderr, component "api") */
  log?: Logger;
}

export const CommitQuery = {
  type: 'object',
  properties: {
    dry_run: { type: 'string', enum: ['true', 'false', '1', '0'], description: 'return the plan without applying it' },
    comment: { type: 'string', maxLength: 256, description: 'stored with the revision' },
    confirm_timeout: { type: 'string', pattern: '^[0-9]{1,4}$', description: 'seconds (1-3600): revert by itself unless POST /v1/commit/confirm comes in time' },
  },
} as const;

export interface CommitQueryValues {
  dry_run?: string;
  comment?: string;
  confirm_timeout?: string;
}

/**
 * The running document (secrets included, never sent out): the store's
 * current document itself, frozen and shared, so a read costs no copy; a
 * read that changes what it sends (redaction) makes its own copy.
 */
export function currentDocument(ctx: ApiContext): Readonly<Config> {
  return ctx.store.currentRevision()?.document ?? emptyConfig();
}

/**
 * The running document for a read, with its revision as the answer's ETag
 * (taken in the same step, so the tag always matches what is sent). The
 * store's frozen current document, as currentDocument.
 */
export function readDocument(ctx: ApiContext, reply: FastifyReply): Readonly<Config> {
  const current = ctx.store.currentRevision();
  reply.header('etag', etagOf(current?.id ?? null));
  return current?.document ?? emptyConfig();
}

/** A commit that reverts by itself unless confirmed, as every answer shows it (status, GET /v1/commit, a commit). */
export function pendingConfirmStatus(pending: PendingConfirm | undefined, now = Date.now()) {
  if (!pending) return null;
  return {
    revision: pending.revision,
    revert_to: pending.revertTo,
    deadline: pending.deadline,
    seconds_left: Math.max(0, Math.ceil((Date.parse(pending.deadline) - now) / 1000)),
    author: pending.author,
  };
}

export function commitResponse(outcome: CommitOutcome, extra: Record<string, unknown> = {}) {
  return {
    dry_run: outcome.dryRun,
    changed: outcome.plan.changed,
    ...(outcome.revision ? { revision: outcome.revision } : {}),
    ...(outcome.pendingConfirm ? { pending_confirm: pendingConfirmStatus(outcome.pendingConfirm) } : {}),
    plan: outcome.plan,
    ...(outcome.warnings.length ? { warnings: outcome.warnings } : {}),
    ...(outcome.actions ? { actions: outcome.actions } : {}),
    ...(outcome.timings ? { timings: outcome.timings } : {}),
    ...redactSecrets(extra),
  };
}

/**
 * Every change to the document: `edit` gets a copy of the current document
 * and returns the new one (it may throw an HttpError to refuse). The copy's
 * objects and lists are its own, but the records in its lists (rules,
 * routes, tunnels...) are the committed ones, frozen: replace a record in
 * its list, never change one in place (appliance/model/shared-document.ts).
 * Read, If-Match check, edit and commit run as one step in the reconciler's
 * queue, so concurrent writers never lose each other's changes. The answer's
 * ETag is the new revision (for a dry run: the revision it was planned on).
 */
export async function editDocument(
  ctx: ApiContext,
  request: FastifyRequest,
  reply: FastifyReply,
  edit: (current: Config) => unknown,
  meta: { comment?: string; source?: Revision['source'] } = {},
): Promise<CommitOutcome> {
  const query = (request.query ?? {}) as CommitQueryValues;
  const dryRun = query.dry_run === 'true' || query.dry_run === '1';
  const confirmTimeoutS = query.confirm_timeout === undefined ? undefined : Number(query.confirm_timeout);
  if (confirmTimeoutS !== undefined && (confirmTimeoutS < 1 || confirmTimeoutS > 3600)) {
    throw new HttpError(400, 'invalid_request', 'confirm_timeout must be between 1 and 3600 seconds', '(querystring)/confirm_timeout');
  }
  const precondition = ifMatchOf(request);
  let base: number | null = null;
  const outcome = await ctx.reconciler.edit(
    { author: actor(request), comment: meta.comment ?? query.comment, source: meta.source ?? 'api', dryRun, confirmTimeoutS },
    (current, revision) => {
      checkPrecondition(precondition, revision);
      base = revision;
      return edit(current);
    },
  );
  reply.header('etag', etagOf(outcome.revision?.id ?? base));
  return outcome;
}

export const CommitResponse = {
  type: 'object',
  properties: {
    dry_run: { type: 'boolean' },
    changed: { type: 'boolean' },
    revision: { type: 'object', additionalProperties: true },
    plan: { type: 'object', additionalProperties: true },
    actions: { type: 'object', additionalProperties: true },
    timings: { type: 'object', additionalProperties: true, description: 'milliseconds per stage: prepare (validate, verify, render), plan, apply per subsystem, store' },
    item: { type: 'object', additionalProperties: true },
    pending_confirm: { type: 'object', additionalProperties: true },
    warnings: { type: 'array', items: { type: 'object', additionalProperties: true } },
  },
  additionalProperties: true,
} as const;
