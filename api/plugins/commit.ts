// Commit-confirm: read, confirm or cancel the commit that awaits confirmation.
import type { FastifyInstance } from 'fastify';
import { ErrorResponse, HttpError } from '../errors.js';
import { actor } from '../auth.js';
import { CommitResponse, commitResponse, pendingConfirmStatus, type ApiContext } from '../context.js';

export default async function commitPlugin(app: FastifyInstance, ctx: ApiContext) {
  app.get('/v1/commit', {
    schema: { tags: ['config'], summary: 'The commit that awaits confirmation, if any', response: { 401: ErrorResponse } },
  }, async () => ({ pending_confirm: pendingConfirmStatus(ctx.reconciler.pendingConfirm()) }));

  app.post('/v1/commit/confirm', {
    config: { scope: 'operate' },
    schema: { tags: ['config'], summary: 'Confirm the pending commit: it stays', response: { 401: ErrorResponse, 403: ErrorResponse, 409: ErrorResponse } },
  }, async (request) => ({ confirmed: pendingConfirmStatus(await ctx.reconciler.confirm(actor(request))) }));

  app.post('/v1/commit/cancel', {
    config: { scope: 'operate' },
    schema: { tags: ['config'], summary: 'Revert the pending commit now', response: { 200: CommitResponse, 401: ErrorResponse, 403: ErrorResponse, 409: ErrorResponse } },
  }, async (request) => {
    const pending = ctx.reconciler.pendingConfirm();
    if (!pending) throw new HttpError(409, 'conflict', 'no commit awaits confirmation');
    const outcome = await ctx.reconciler.revertUnconfirmed(pending.revision, actor(request));
    return commitResponse(outcome);
  });
}
