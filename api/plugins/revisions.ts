// Revisions: list, read, diff and roll back. A rollback is a new revision.
import type { FastifyInstance } from 'fastify';
import { redactSecrets } from '../../appliance/config/secrets.js';
import { ErrorResponse, HttpError } from '../errors.js';
import { actor } from '../auth.js';
import { CommitResponse, commitResponse, type ApiContext } from '../context.js';
import { sendDocument } from './config.js';
import { diffDocuments } from '../../appliance/config/diff.js';

const IdParams = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } } as const;

export default async function revisionsPlugin(app: FastifyInstance, ctx: ApiContext) {
  const find = (id: number) => {
    const revision = ctx.store.revision(id);
    if (!revision) throw new HttpError(404, 'not_found', `no revision ${id}`, `/revisions/${id}`);
    return revision;
  };

  app.get('/v1/revisions', {
    schema: {
      tags: ['revisions'],
      summary: 'Revisions, newest first',
      querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000 }, before: { type: 'integer', minimum: 1 } } },
    },
  }, async (request) => {
    const { limit, before } = request.query as { limit?: number; before?: number };
    return { current: ctx.store.currentRevisionId(), revisions: ctx.store.revisions(limit ?? 100, before) };
  });

  app.get('/v1/revisions/:id', {
    schema: { tags: ['revisions'], summary: 'One revision and its document (secrets masked)', params: IdParams, response: { 404: ErrorResponse } },
  }, async (request, reply) => {
    const { document, ...summary } = find((request.params as { id: number }).id);
    if ((request.query as { format?: string }).format === 'yaml') return sendDocument(request, reply, document);
    return { ...summary, document: redactSecrets(document) };
  });

  app.get('/v1/revisions/:id/diff', {
    schema: {
      tags: ['revisions'],
      summary: 'Differences between a revision and another (default: its parent)',
      params: IdParams,
      querystring: { type: 'object', properties: { against: { type: 'integer', minimum: 1 } } },
      response: { 404: ErrorResponse },
    },
  }, async (request) => {
    const revision = find((request.params as { id: number }).id);
    const againstId = (request.query as { against?: number }).against ?? revision.parent;
    const base = againstId ? find(againstId).document : {};
    return { from: againstId ?? null, to: revision.id, changes: diffDocuments(redactSecrets(base), redactSecrets(revision.document)) };
  });

  app.post('/v1/revisions/:id/rollback', {
    schema: {
      tags: ['revisions'],
      summary: 'Make the given revision current again (as a new revision)',
      params: IdParams,
      response: { 200: CommitResponse, 404: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse },
    },
  }, async (request) => {
    const id = (request.params as { id: number }).id;
    find(id);
    const outcome = await ctx.reconciler.rollback(id, actor(request));
    ctx.onCommitted?.(ctx.store.currentRevision()!.document);
    return commitResponse(outcome);
  });

  app.get('/v1/audit', { schema: { tags: ['revisions'], summary: 'Who changed what, newest first' } }, async () => ({ entries: ctx.store.auditLog(200) }));
}
