// The whole document: GET (JSON or YAML), PUT (replace), PATCH (JSON merge patch, RFC 7396).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { stringify as toYaml } from 'yaml';
import { redactSecrets } from '../../appliance/model/secrets.js';
import { ErrorResponse, HttpError } from '../errors.js';
import { CommitQuery, CommitResponse, commitResponse, editDocument, readDocument, type ApiContext } from '../context.js';
import { IF_MATCH_HELP, READ_ETAG_HELP, WriteHeaders } from '../revision-tags.js';

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key];
    else base[key] = mergePatch(base[key], value);
  }
  return base;
}

function wantsYaml(request: FastifyRequest): boolean {
  const format = (request.query as { format?: string }).format;
  if (format) return format === 'yaml';
  return /yaml/.test(request.headers.accept ?? '');
}

export function sendDocument(request: FastifyRequest, reply: FastifyReply, document: unknown) {
  const masked = redactSecrets(document);
  if (wantsYaml(request)) return reply.type('application/yaml').send(toYaml(masked));
  return reply.send(masked);
}

export default async function configPlugin(app: FastifyInstance, ctx: ApiContext) {
  const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 409: ErrorResponse, 412: ErrorResponse, 415: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse };

  app.get('/v1/config', {
    schema: {
      tags: ['config'],
      summary: 'The running configuration document (secrets masked)',
      description: READ_ETAG_HELP,
      querystring: { type: 'object', properties: { format: { type: 'string', enum: ['json', 'yaml'] } } },
      response: { 401: ErrorResponse },
    },
  }, async (request, reply) => sendDocument(request, reply, readDocument(ctx, reply)));

  app.put('/v1/config', {
    schema: {
      tags: ['config'],
      summary: 'Replace the whole configuration (JSON or YAML body); ?dry_run=true returns the plan only',
      description: IF_MATCH_HELP,
      headers: WriteHeaders,
      querystring: CommitQuery,
      response: { 200: CommitResponse, ...errors },
    },
  }, async (request, reply) => {
    if (request.body === undefined || request.body === null || typeof request.body !== 'object') {
      throw new HttpError(400, 'invalid_request', 'the body must be a configuration document (JSON or YAML object)', '/');
    }
    return commitResponse(await editDocument(ctx, request, reply, () => request.body));
  });

  app.patch('/v1/config', {
    schema: {
      tags: ['config'],
      summary: 'Change part of the configuration with a JSON merge patch (RFC 7396): Content-Type application/merge-patch+json (or application/json, application/yaml)',
      description: `Objects merge key by key, null deletes a key, anything else (arrays included) replaces the value. ${IF_MATCH_HELP}`,
      headers: WriteHeaders,
      querystring: CommitQuery,
      response: { 200: CommitResponse, ...errors },
    },
  }, async (request, reply) => {
    if (!request.body || typeof request.body !== 'object' || Array.isArray(request.body)) {
      throw new HttpError(400, 'invalid_request', 'the body must be a JSON merge patch object', '/');
    }
    return commitResponse(await editDocument(ctx, request, reply, (current) => mergePatch(current, request.body)));
  });
}
