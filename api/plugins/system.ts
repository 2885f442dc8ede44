// Health, status (with a pending commit-confirm), reconcile and tokens.
import type { FastifyInstance } from 'fastify';
import { ErrorResponse, HttpError } from '../errors.js';
import { actor } from '../auth.js';
import { pendingConfirmStatus, type ApiContext } from '../context.js';

export default async function systemPlugin(app: FastifyInstance, ctx: ApiContext) {
  app.get('/v1/health', {
    config: { public: true },
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
    schema: { tags: ['system'], summary: 'Compare the system with the current revision now and repair drift', response: { 401: ErrorResponse, 403: ErrorResponse } },
  }, async () => {
    const report = await ctx.reconciler.reconcile();
    ctx.status.invalidate();
    return report;
  });

  app.get('/v1/tokens', { schema: { tags: ['tokens'], summary: 'API tokens (never their secrets)' } }, async () => ({ items: ctx.store.tokens() }));

  app.post('/v1/tokens', {
    schema: {
      tags: ['tokens'],
      summary: 'Create a token; its secret is returned once, in this answer only',
      body: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: { name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' }, scope: { type: 'string', enum: ['admin', 'read'] } },
      },
      response: { 201: { type: 'object', additionalProperties: true }, 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse },
    },
  }, async (request, reply) => {
    const { name, scope } = request.body as { name: string; scope?: 'admin' | 'read' };
    const created = ctx.store.createToken(name, scope ?? 'read');
    ctx.store.audit({ actor: actor(request), action: `create token ${name} (${created.info.scope})`, revision: null, outcome: 'ok', detail: '' });
    return reply.code(201).send({ ...created.info, token: created.token });
  });

  app.delete('/v1/tokens/:id', {
    schema: { tags: ['tokens'], summary: 'Revoke a token', params: { type: 'object', properties: { id: { type: 'string' } } }, response: { 404: ErrorResponse } },
  }, async (request) => {
    const { id } = request.params as { id: string };
    if (request.token?.id === id) throw new HttpError(409, 'conflict', 'a token cannot revoke itself');
    if (!ctx.store.deleteToken(id)) throw new HttpError(404, 'not_found', `no token ${id}`);
    ctx.store.audit({ actor: actor(request), action: `revoke token ${id}`, revision: null, outcome: 'ok', detail: '' });
    return { deleted: id };
  });
}
