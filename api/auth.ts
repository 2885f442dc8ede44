// Bearer-token authentication. Every /v1 route needs a token except the
// health check; changes need an admin token. Only token hashes are stored.
// Failed logins are rate-limited per source and recorded in the audit log
// (never the token that was presented).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Store, TokenInfo } from '../appliance/core/store.js';
import { networkOf } from '../appliance/model/ip.js';
import { HttpError } from './errors.js';
import { LoginLimiter } from './login-limiter.js';

declare module 'fastify' {
  interface FastifyRequest {
    token?: TokenInfo;
  }
  interface FastifyContextConfig {
    /** routes that answer without a token */
    public?: boolean;
    /** a route outside /v1 that needs a token all the same, except from where this lets a request through (GET /metrics and its scrape allow-list) */
    tokenUnless?: (request: FastifyRequest) => boolean;
    /** where a request body sits in the config document, for error paths */
    documentPath?: (request: FastifyRequest) => string;
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Requests on the root-only Unix socket have no address; only root can fail there, so it is not limited. */
export const UNIX_SOCKET = 'unix socket';

/**
 * Who is knocking, for the rate limit: the IPv4 address, or the IPv6 /64
 * (one host usually holds a whole /64, so single addresses cost it nothing).
 */
export function loginSource(request: FastifyRequest): string {
  const ip = request.ip;
  if (!ip) return UNIX_SOCKET;
  const plain = /^::ffff:[0-9.]+$/i.test(ip) ? ip.slice(7) : ip;
  return plain.includes(':') ? (networkOf(`${plain}/64`) ?? plain) : plain;
}

export function registerAuth(app: FastifyInstance, store: Store, limiter = new LoginLimiter()): void {
  app.addHook('onRequest', async (request: FastifyRequest) => {
    // Decide by the route that matched, not the raw URL: the router decodes
    // percent-escapes, so "/%761/config" reaches the /v1/config handler.
    const route = request.routeOptions.url ?? request.url;
    const tokenUnless = request.routeOptions.config?.tokenUnless;
    if (tokenUnless ? tokenUnless(request) : !route.startsWith('/v1/') || request.routeOptions.config?.public) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new HttpError(401, 'unauthorized', 'missing bearer token (Authorization: Bearer <token>)', '(headers)/authorization');
    const source = loginSource(request);
    const wait = source === UNIX_SOCKET ? 0 : limiter.retryAfterS(source);
    if (wait > 0) {
      throw new HttpError(429, 'too_many_failed_logins', `too many failed logins from ${source}; try again in ${wait} s`, '(headers)/authorization', {}, { 'retry-after': String(wait) });
    }
    const token = store.authenticate(match[1]);
    if (!token) {
      if (source !== UNIX_SOCKET) limiter.recordFailure(source);
      store.audit({ actor: `source:${source}`, action: 'login failed', revision: null, outcome: 'rejected', detail: `invalid token on ${request.method} ${route.split('?')[0]}` });
      throw new HttpError(401, 'unauthorized', 'invalid token', '(headers)/authorization');
    }
    if (MUTATING.has(request.method) && token.scope !== 'admin') throw new HttpError(403, 'forbidden', `token "${token.name}" is read-only`);
    request.token = token;
  });
}

export function actor(request: FastifyRequest): string {
  return request.token ? `token:${request.token.name}` : 'anonymous';
}
