// Revisions: list, read, diff and roll back. A rollback is a new revision.
import type { FastifyInstance } from 'fastify';
import { redactSecrets } from '../../appliance/model/secrets.js';
import { ErrorResponse, HttpError } from '../errors.js';
import { MAX_AUDIT_ENTRIES } from '../../appliance/core/store.js';
import { CommitQuery, CommitResponse, commitResponse, editDocument, type ApiContext } from '../context.js';
import { IF_MATCH_HELP, WriteHeaders, etagOf } from '../revision-tags.js';
import { sendDocument } from './config.js';
import { diffDocuments } from '../../appliance/model/diff.js';

// Path and query values arrive as strings and the server does not coerce
// types (a body's "1500" must not become 1500), so numbers are matched as text.
const PositiveInteger = { type: 'string', pattern: '^[1-9][0-9]{0,15}$' } as const;
const Limit = { type: 'string', pattern: '^([1-9][0-9]{0,2}|1000)$' } as const;
const IdParams = { type: 'object', required: ['id'], properties: { id: PositiveInteger } } as const;
const idOf = (request: { params: unknown }) => Number((request.params as { id: string }).id);

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
      querystring: { type: 'object', properties: { limit: { ...Limit, description: '1 to 1000' }, before: PositiveInteger } },
    },
  }, async (request) => {
    const { limit, before } = request.query as { limit?: string; before?: string };
    return { current: ctx.store.currentRevisionId(), revisions: ctx.store.revisions(limit ? Number(limit) : 100, before ? Number(before) : undefined) };
  });

  app.get('/v1/revisions/:id', {
    schema: { tags: ['revisions'], summary: 'One revision and its document (secrets masked)', description: 'ETag: "<id>" of this revision.', params: IdParams, response: { 404: ErrorResponse } },
  }, async (request, reply) => {
    const { document, ...summary } = find(idOf(request));
    reply.header('etag', etagOf(summary.id));
    if ((request.query as { format?: string }).format === 'yaml') return sendDocument(request, reply, document);
    return { ...summary, document: redactSecrets(document) };
  });

  app.get('/v1/revisions/:id/diff', {
    schema: {
      tags: ['revisions'],
      summary: 'Differences between a revision and another (default: its parent)',
      params: IdParams,
      querystring: { type: 'object', properties: { against: PositiveInteger } },
      response: { 404: ErrorResponse },
    },
  }, async (request) => {
    const revision = find(idOf(request));
    const against = (request.query as { against?: string }).against;
    const againstId = against ? Number(against) : revision.parent;
    const base = againstId ? find(againstId).document : {};
    return { from: againstId ?? null, to: revision.id, changes: diffDocuments(redactSecrets(base), redactSecrets(revision.document)) };
  });

  app.post('/v1/revisions/:id/rollback', {
    schema: {
      tags: ['revisions'],
      summary: 'Make the given revision current again (as a new revision)',
      description: IF_MATCH_HELP,
      params: IdParams,
      headers: WriteHeaders,
      querystring: { type: 'object', properties: { dry_run: CommitQuery.properties.dry_run, confirm_timeout: CommitQuery.properties.confirm_timeout } },
      response: { 200: CommitResponse, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 412: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse },
    },
  }, async (request, reply) => {
    const id = idOf(request);
    const target = find(id);
    const outcome = await editDocument(ctx, request, reply, () => target.document, { comment: `rollback to revision ${id}`, source: 'rollback' });
    return commitResponse(outcome);
  });

  app.get('/v1/audit', {
    schema: {
      tags: ['revisions'],
      summary: 'Who changed what (commits, rollbacks, tokens, failed logins), newest first',
      querystring: { type: 'object', additionalProperties: false, properties: { limit: { ...Limit, description: `1 to ${MAX_AUDIT_ENTRIES} (default 100)` } } },
      response: { 400: ErrorResponse, 401: ErrorResponse },
    },
  }, async (request) => {
    const { limit } = request.query as { limit?: string };
    return { entries: ctx.store.auditLog(limit ? Number(limit) : 100) };
  });
}
