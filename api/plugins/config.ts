// The whole document: GET (JSON or YAML), PUT (replace), PATCH (JSON merge patch, RFC 7396).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { stringify as toYaml } from 'yaml';
import { redactSecrets } from '../../appliance/model/secrets.js';
import { ErrorResponse, HttpError } from '../errors.js';
import { CommitQuery, CommitResponse, commitDocument, commitResponse, currentDocument, type ApiContext } from '../context.js';

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
  const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse };

  app.get('/v1/config', {
    schema: {
      tags: ['config'],
      summary: 'The running configuration document (secrets masked)',
      querystring: { type: 'object', properties: { format: { type: 'string', enum: ['json', 'yaml'] } } },
      response: { 401: ErrorResponse },
    },
  }, async (request, reply) => sendDocument(request, reply, currentDocument(ctx)));

  app.put('/v1/config', {
    schema: {
      tags: ['config'],
      summary: 'Replace the whole configuration (JSON or YAML body); ?dry_run=true returns the plan only',
      querystring: CommitQuery,
      response: { 200: CommitResponse, ...errors },
    },
  }, async (request) => {
    if (request.body === undefined || request.body === null || typeof request.body !== 'object') {
      throw new HttpError(400, 'invalid_request', 'the body must be a configuration document (JSON or YAML object)', '/');
    }
    return commitResponse(await commitDocument(ctx, request, request.body));
  });

  app.patch('/v1/config', {
    schema: {
      tags: ['config'],
      summary: 'Change part of the configuration with a JSON merge patch (RFC 7396)',
      querystring: CommitQuery,
      response: { 200: CommitResponse, ...errors },
    },
  }, async (request) => {
    if (!request.body || typeof request.body !== 'object' || Array.isArray(request.body)) {
      throw new HttpError(400, 'invalid_request', 'the body must be a JSON merge patch object', '/');
    }
    return commitResponse(await commitDocument(ctx, request, mergePatch(currentDocument(ctx), request.body)));
  });
}
