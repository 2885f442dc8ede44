// Bearer-token authentication and per-route scopes. Every route declares who
// may call it in its config (`config: { scope: 'operate' }`); a /v1 route
// that does not is read for GET/HEAD and admin for anything else, and a
// route outside /v1 (the OpenAPI UI) is public unless it says otherwise.
// The scope each route ended up with is recorded (routeAccess) and written
// into its OpenAPI description, and test/api/scopes.test.ts fails for a
// route it has no expectation for: a new route cannot go unnoticed.
// Only token hashes are stored. Failed logins are rate-limited per source
// and recorded in the audit log (never the token that was presented).
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Store, TokenInfo, TokenScope } from '../appliance/core/store.js';
import { scopeCovers, tokenExpired } from '../appliance/core/tokens.js';
import { networkOf } from '../appliance/model/ip.js';
import { HttpError } from './errors.js';
import { LoginLimiter } from './login-limiter.js';

/** Who may call a route: anyone ('public'), or a token of at least this scope. */
export type RouteAccess = TokenScope | 'public';

declare module 'fastify' {
  interface FastifyRequest {
    token?: TokenInfo;
  }
  interface FastifyContextConfig {
    /** who may call the route; unset: see defaultAccess */
    scope?: RouteAccess;
    /** lets a request through without a token (GET /metrics from its scrape allow-list); otherwise `scope` applies */
    tokenUnless?: (request: FastifyRequest) => boolean;
    /** where a request body sits in the config document, for error paths */
    documentPath?: (request: FastifyRequest) => string;
  }
}

const READS = new Set(['GET', 'HEAD']);

/** What a route gets when it declares nothing: reads need read, changes need admin; outside /v1 nothing. */
export function defaultAccess(method: string, url: string): RouteAccess {
  if (!url.startsWith('/v1/')) return 'public';
  return READS.has(method) ? 'read' : 'admin';
}

export interface RouteAccessEntry {
  method: string;
  url: string;
  access: RouteAccess;
  /** true when the route declared its scope, false when it got the default */
  declared: boolean;
}

const accessTables = new WeakMap<FastifyInstance, RouteAccessEntry[]>();

/** Every route of `app` with the access it requires, in registration order. */
export function routeAccess(app: FastifyInstance): RouteAccessEntry[] {
  return accessTables.get(app) ?? [];
}

const ACCESS_HELP: Record<RouteAccess, string> = {
  public: 'Access: no token needed.',
  read: 'Access: a token of any scope (read, operate or admin).',
  operate: 'Access: an operate or admin token.',
  admin: 'Access: an admin token.',
};

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

/** Records each route's access as it is added (its own declaration or the default) and writes it into its OpenAPI text. */
function recordAccess(app: FastifyInstance): void {
  const table: RouteAccessEntry[] = [];
  accessTables.set(app, table);
  app.addHook('onRoute', (route: RouteOptions) => {
    const declared = route.config?.scope;
    const methods = [route.method].flat();
    const accesses = new Set(methods.map((method) => declared ?? defaultAccess(method, route.url)));
    for (const method of methods) table.push({ method, url: route.url, access: declared ?? defaultAccess(method, route.url), declared: declared !== undefined });
    // A HEAD route shares its GET's schema object: describe it once.
    if (accesses.size === 1 && route.schema && !route.schema.hide && !(route.schema as { description?: string }).description?.startsWith('Access:')) {
      const access = [...accesses][0];
      const described = route.schema as { description?: string; security?: unknown[] };
      described.description = described.description ? `${ACCESS_HELP[access]}\n\n${described.description}` : ACCESS_HELP[access];
      if (access === 'public') described.security = []; // OpenAPI: no bearer token for this one
    }
  });
}

export function registerAuth(app: FastifyInstance, store: Store, limiter = new LoginLimiter()): void {
  recordAccess(app);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    // Decide by the route that matched, not the raw URL: the router decodes
    // percent-escapes, so "/%761/config" reaches the /v1/config handler.
    // A request that matched no route is the 404 handler's: /v1 ones still
    // need a token, so probing does not tell which paths exist.
    // read once: fastify builds a new routeOptions object at every access
    const { url, config } = request.routeOptions;
    const route = url ?? request.url;
    if (config?.tokenUnless?.(request)) return;
    const needed = config?.scope ?? defaultAccess(request.method, route);
    if (needed === 'public') return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new HttpError(401, 'unauthorized', 'missing bearer token (Authorization: Bearer <token>)', '(headers)/authorization');
    const source = loginSource(request);
    const wait = source === UNIX_SOCKET ? 0 : limiter.retryAfterS(source);
    if (wait > 0) {
      throw new HttpError(429, 'too_many_failed_logins', `too many failed logins from ${source}; try again in ${wait} s`, '(headers)/authorization', {}, { 'retry-after': String(wait) });
    }
    const token = store.authenticate(match[1]);
    const path = route.split('?')[0];
    if (!token) {
      if (source !== UNIX_SOCKET) limiter.recordFailure(source);
      store.audit({ actor: `source:${source}`, action: 'login failed', revision: null, outcome: 'rejected', detail: `invalid token on ${request.method} ${path}` });
      throw new HttpError(401, 'unauthorized', 'invalid token', '(headers)/authorization');
    }
    // Not a failed guess (the secret is right), so not rate-limited; audited so the owner learns of it.
    if (tokenExpired(token)) {
      store.audit({ actor: `token:${token.name}`, action: 'login failed', revision: null, outcome: 'rejected', detail: `expired token on ${request.method} ${path}` });
      throw new HttpError(401, 'token_expired', `token "${token.name}" expired at ${token.expiresAt}; ask an admin for a new one`, '(headers)/authorization');
    }
    if (!scopeCovers(token.scope, needed)) {
      throw new HttpError(403, 'forbidden', `token "${token.name}" has scope ${token.scope}; ${request.method} ${path} needs ${needed}`);
    }
    request.token = token;
  });
}

export function actor(request: FastifyRequest): string {
  return request.token ? `token:${request.token.name}` : 'anonymous';
}
