// What the API plugins share: the pipeline, the store and status, plus the
// one helper every mutating route uses to turn an edit into a commit.
import type { FastifyRequest } from 'fastify';
import type { Reconciler, CommitOutcome } from '../appliance/core/reconciler.js';
import type { Store } from '../appliance/core/store.js';
import type { StatusService } from '../appliance/core/status.js';
import type { VpnControl } from '../appliance/subsystems/vpn/control.js';
import type { BgpControl } from '../appliance/subsystems/bgp/control.js';
import type { FirewallLog } from '../appliance/subsystems/firewall/log-reader.js';
import { emptyConfig, type Config } from '../appliance/model/schema.js';
import { redactSecrets } from '../appliance/model/secrets.js';
import { actor } from './auth.js';
import { HttpError } from './errors.js';

export interface ApiContext {
  reconciler: Reconciler;
  store: Store;
  status: StatusService;
  /** the IPsec subsystem (status, initiate/terminate, events); absent in tests without one */
  vpn?: VpnControl;
  /** the BGP subsystem (status, learned routes, neighbor resets); absent in tests without one */
  bgp?: BgpControl;
  /** reads the firewall's packet log (absent in unit tests) */
  firewallLog?: FirewallLog;
  /** called after every successful commit (e.g. to re-arm the reconcile timer) */
  onCommitted?: (config: Config) => void;
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

/** A deep copy of the running document (secrets included, never sent out). */
export function currentDocument(ctx: ApiContext): Config {
  return structuredClone(ctx.store.currentRevision()?.document ?? emptyConfig());
}

export function commitResponse(outcome: CommitOutcome, extra: Record<string, unknown> = {}) {
  return {
    dry_run: outcome.dryRun,
    changed: outcome.plan.changed,
    ...(outcome.revision ? { revision: outcome.revision } : {}),
    ...(outcome.pendingConfirm ? { pending_confirm: outcome.pendingConfirm } : {}),
    plan: outcome.plan,
    ...(outcome.warnings.length ? { warnings: outcome.warnings } : {}),
    ...(outcome.actions ? { actions: outcome.actions } : {}),
    ...redactSecrets(extra),
  };
}

export async function commitDocument(ctx: ApiContext, request: FastifyRequest, document: unknown): Promise<CommitOutcome> {
  const query = (request.query ?? {}) as CommitQueryValues;
  const dryRun = query.dry_run === 'true' || query.dry_run === '1';
  const confirmTimeoutS = query.confirm_timeout === undefined ? undefined : Number(query.confirm_timeout);
  if (confirmTimeoutS !== undefined && (confirmTimeoutS < 1 || confirmTimeoutS > 3600)) {
    throw new HttpError(400, 'invalid_request', 'confirm_timeout must be between 1 and 3600 seconds', '(querystring)/confirm_timeout');
  }
  const outcome = await ctx.reconciler.commit({ document, author: actor(request), comment: query.comment, source: 'api', dryRun, confirmTimeoutS });
  if (!dryRun && ctx.onCommitted) ctx.onCommitted(ctx.store.currentRevision()!.document);
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
    item: { type: 'object', additionalProperties: true },
    pending_confirm: { type: 'object', additionalProperties: true },
    warnings: { type: 'array', items: { type: 'object', additionalProperties: true } },
  },
  additionalProperties: true,
} as const;
