// Bearer-token authentication. Every /v1 route needs a token except the
// health check; changes need an admin token. Only token hashes are stored.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Store, TokenInfo } from '../appliance/core/store.js';
import { HttpError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    token?: TokenInfo;
  }
  interface FastifyContextConfig {
    /** routes that answer without a token */
    public?: boolean;
    /** where a request body sits in the config document, for error paths */
    documentPath?: (request: FastifyRequest) => string;
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function registerAuth(app: FastifyInstance, store: Store): void {
  app.addHook('onRequest', async (request: FastifyRequest) => {
    // Decide by the route that matched, not the raw URL: the router decodes
    // percent-escapes, so "/%761/config" reaches the /v1/config handler.
    const route = request.routeOptions.url ?? request.url;
    if (!route.startsWith('/v1/') || request.routeOptions.config?.public) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new HttpError(401, 'unauthorized', 'missing bearer token (Authorization: Bearer <token>)');
    const token = store.authenticate(match[1]);
    if (!token) throw new HttpError(401, 'unauthorized', 'invalid token');
    if (MUTATING.has(request.method) && token.scope !== 'admin') throw new HttpError(403, 'forbidden', `token "${token.name}" is read-only`);
    request.token = token;
  });
}

export function actor(request: FastifyRequest): string {
  return request.token ? `token:${request.token.name}` : 'anonymous';
}
