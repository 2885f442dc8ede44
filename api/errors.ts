// One error shape for every 4xx and 5xx the API sends, whoever raised it (a
// plugin, verify, a failed apply, fastify's own validation, parsing or
// routing): { error, message, problems, request_id }. A 5xx is logged with
// its request id and says no more than that id and what failed.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigRejected } from '../appliance/model/problems.js';
import { CommitConflict, CommitFailed } from '../appliance/core/reconciler.js';
import { createLogger, type Logger } from '../appliance/platform/log.js';

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    /** where in the document (or "(querystring)/name", "(headers)/name") the fault is */
    readonly path?: string,
    /** fields a client can act on, e.g. current_revision on a 412 */
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface ProblemEntry {
  path: string;
  message: string;
}

export const ErrorResponse = {
  type: 'object',
  description: 'Every 4xx and 5xx answer has this shape',
  required: ['error', 'message', 'problems', 'request_id'],
  properties: {
    error: { type: 'string', description: 'machine-readable code, e.g. invalid_request, config_verify_failed, revision_mismatch, apply_failed' },
    message: { type: 'string', description: 'for a person' },
    problems: {
      type: 'array',
      description: 'each fault with its place: a document path ("/firewall/policies/0/rules/2/action"), "(querystring)/name" or "(headers)/name"; empty when no place applies',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
    request_id: { type: 'string', description: 'the id under which the appliance log has this request (5xx are always logged)' },
    subsystem: { type: 'string', description: 'apply_failed: the subsystem whose apply failed' },
    rolled_back: { type: 'boolean', description: 'apply_failed: whether every subsystem returned to the previous revision' },
    current_revision: { type: ['integer', 'null'], description: 'revision_mismatch: the revision the document is at now' },
  },
  additionalProperties: false,
} as const;

/** ajv reports "/rules/0/action"; prefix it with where the body sits in the document. */
export function validationPath(instancePath: string, params: Record<string, unknown> | undefined, basePath: string): string {
  const missing = params && typeof params.missingProperty === 'string' ? `/${params.missingProperty}` : '';
  const extra = params && typeof params.additionalProperty === 'string' ? `/${params.additionalProperty}` : '';
  return `${basePath}${instancePath}${missing}${extra}` || '/';
}

type ValidationError = FastifyError & { validation?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown> }> };

/** fastify's own errors (parsing, content type, size) in our words. */
const FASTIFY_ERRORS: Record<string, { status: number; code: string; message?: (error: FastifyError, request: FastifyRequest) => string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    message: (_e, request) => `content type "${request.headers['content-type'] ?? ''}" is not accepted here; send application/json or application/yaml (PATCH also takes application/merge-patch+json)`,
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json', message: () => 'the body is not valid JSON (or has a __proto__ or constructor.prototype key)' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_request', message: () => 'the body is empty but its content type says JSON' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body_too_large' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_request' },
};

interface Answer {
  status: number;
  code: string;
  message: string;
  problems: ProblemEntry[];
  details?: Record<string, unknown>;
  headers?: Record<string, string>;
}

function answerFor(error: ValidationError, request: FastifyRequest): Answer {
  if (error.validation) {
    const base = request.routeOptions.config?.documentPath?.(request) ?? '';
    const where = error.validationContext === 'body' ? base : `(${error.validationContext})`;
    const problems = error.validation.map((v) => ({ path: validationPath(v.instancePath, v.params, where), message: v.message ?? 'invalid' }));
    return { status: 400, code: 'invalid_request', message: `${problems[0].path}: ${problems[0].message}`, problems };
  }
  if (error instanceof ConfigRejected) {
    return { status: error.stage === 'validate' ? 400 : 422, code: `config_${error.stage}_failed`, message: error.message, problems: error.problems.map(({ path, message }) => ({ path, message })) };
  }
  if (error instanceof CommitFailed) {
    return {
      status: 500,
      code: 'apply_failed',
      message: `${error.subsystem}: ${error.message}`,
      problems: [
        ...(error.path ? [{ path: error.path, message: error.message }] : []),
        ...error.rollbackErrors.map((m) => ({ path: '', message: `rollback: ${m}` })),
      ],
      details: { subsystem: error.subsystem, rolled_back: error.rolledBack },
    };
  }
  if (error instanceof CommitConflict) return { status: 409, code: 'conflict', message: error.message, problems: [] };
  if (error instanceof HttpError) {
    return { status: error.statusCode, code: error.code, message: error.message, problems: error.path ? [{ path: error.path, message: error.message }] : [], details: error.details, headers: error.headers };
  }
  const known = error.code ? FASTIFY_ERRORS[error.code] : undefined;
  if (known) return { status: known.status, code: known.code, message: known.message?.(error, request) ?? error.message, problems: [] };
  // Other client errors fastify raises (e.g. a body that secure-json-parse refuses).
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, code: error.statusCode === 400 ? 'invalid_request' : 'client_error', message: error.message, problems: [] };
  }
  return { status: 500, code: 'internal', message: 'internal error; the appliance log has the details under this request id', problems: [] };
}

export function sendError(reply: FastifyReply, request: FastifyRequest, answer: Answer) {
  for (const [name, value] of Object.entries(answer.headers ?? {})) reply.header(name, value);
  return reply.code(answer.status).type('application/json').send({ error: answer.code, message: answer.message, problems: answer.problems, request_id: request.id, ...answer.details });
}

export function registerErrorHandler(app: FastifyInstance, log: Logger = createLogger('api')): void {
  app.setErrorHandler((error: ValidationError, request, reply) => {
    const answer = answerFor(error, request);
    if (answer.status >= 500) {
      // The body hides internals; the log keeps them (fields pass through redactSecrets).
      log.error('request failed', {
        request_id: request.id,
        method: request.method,
        route: request.routeOptions.url ?? request.url.split('?')[0],
        status: answer.status,
        code: answer.code,
        error: error.message,
        ...(answer.code === 'internal' ? { stack: error.stack } : {}),
      });
    }
    return sendError(reply, request, answer);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, request, { status: 404, code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}`, problems: [] }),
  );
}
