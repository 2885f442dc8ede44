// One error handler for the whole API: config problems become 4xx answers
// that name each offending path; a failed apply says which subsystem failed
// and that it was rolled back; anything unexpected is a 500 without details.
import type { FastifyError, FastifyInstance } from 'fastify';
import { ConfigRejected } from '../appliance/model/problems.js';
import { CommitConflict, CommitFailed } from '../appliance/core/reconciler.js';

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

export const ErrorResponse = {
  type: 'object',
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    problems: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
    subsystem: { type: 'string' },
    path: { type: 'string' },
    rolled_back: { type: 'boolean' },
    request_id: { type: 'string' },
  },
  additionalProperties: true,
} as const;

/** ajv reports "/rules/0/action"; prefix it with where the body sits in the document. */
export function validationPath(instancePath: string, params: Record<string, unknown> | undefined, basePath: string): string {
  const missing = params && typeof params.missingProperty === 'string' ? `/${params.missingProperty}` : '';
  const extra = params && typeof params.additionalProperty === 'string' ? `/${params.additionalProperty}` : '';
  return `${basePath}${instancePath}${missing}${extra}` || '/';
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError & { validation?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown> }> }, request, reply) => {
    if (error.validation) {
      const base = request.routeOptions.config?.documentPath?.(request) ?? '';
      const where = error.validationContext === 'body' ? base : `(${error.validationContext})`;
      const problems = error.validation.map((v) => ({
        path: error.validationContext === 'body' ? validationPath(v.instancePath, v.params, where) : `${where}${v.instancePath}${v.params?.missingProperty ? `/${v.params.missingProperty}` : ''}`,
        message: v.message ?? 'invalid',
      }));
      return reply.code(400).send({ error: 'invalid_request', message: `${problems[0].path}: ${problems[0].message}`, problems });
    }
    if (error instanceof ConfigRejected) {
      const status = error.stage === 'validate' ? 400 : 422;
      return reply.code(status).send({ error: `config_${error.stage}_failed`, message: error.message, problems: error.problems });
    }
    if (error instanceof CommitFailed) {
      return reply.code(500).send({
        error: 'apply_failed',
        message: `${error.subsystem}: ${error.message}`,
        subsystem: error.subsystem,
        ...(error.path ? { path: error.path } : {}),
        rolled_back: error.rolledBack,
        ...(error.rollbackErrors.length ? { problems: error.rollbackErrors.map((m) => ({ path: '', message: m })) } : {}),
      });
    }
    if (error instanceof CommitConflict) {
      return reply.code(409).send({ error: 'conflict', message: error.message });
    }
    if (error instanceof HttpError) {
      return reply.code(error.statusCode).send({ error: error.code, message: error.message, ...(error.path ? { path: error.path } : {}) });
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status < 500) return reply.code(status).send({ error: error.code ?? 'bad_request', message: error.message });
    request.log.error({ err: { message: error.message, stack: error.stack } }, 'unhandled error');
    return reply.code(500).send({ error: 'internal', message: 'internal error; see the appliance log', request_id: request.id });
  });
}
