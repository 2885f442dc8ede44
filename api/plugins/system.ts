// Health, status (with a pending commit-confirm) and reconcile.
import type { FastifyInstance } from 'fastify';
import { ErrorResponse } from '../errors.js';
import { pendingConfirmStatus, type ApiContext } from '../context.js';

export default async function systemPlugin(app: FastifyInstance, ctx: ApiContext) {
  app.get('/v1/health', {
    config: { scope: 'public' },
    schema: { tags: ['system'], summary: 'Liveness (no token needed)' },
  }, async () => ({ status: 'ok', revision: ctx.store.currentRevisionId() }));

  app.get('/v1/status', {
    schema: {
      tags: ['system'],
      summary: 'Interfaces, addresses, routes, rule counters, conntrack, and the commit awaiting confirmation (pending_confirm, null when none)',
      description: 'Read from the kernel and daemons at collected_at and served from a cache: cached_age_ms is the report\'s age, never above max_age_ms (3000); a commit or reconcile makes the next read fresh.',
      response: { 401: ErrorResponse },
    },
  }, async (_request, reply) => reply.type('application/json; charset=utf-8').send(await ctx.status.reportJson({ pending_confirm: pendingConfirmStatus(ctx.reconciler.pendingConfirm()) })));

  app.post('/v1/reconcile', {
    config: { scope: 'operate' }, // repairs drift back to the current revision; changes no configuration
    schema: { tags: ['system'], summary: 'Compare the system with the current revision now and repair drift', response: { 401: ErrorResponse, 403: ErrorResponse } },
  }, async () => {
    const report = await ctx.reconciler.reconcile();
    ctx.status.invalidate();
    return report;
  });
}
