// API tokens: list (never secrets or hashes), create (the secret is in the
// answer once, and nowhere else), revoke. Admin only: a token is access to
// the box. Any token may read its own name, scope and expiry (/v1/auth/self),
// so a client (the dashboard) offers only what the token may do. Scopes are read < operate < admin; `expires_in` makes a token
// that the API refuses, saying so, once its time is up.
import type { FastifyInstance } from 'fastify';
import { ErrorResponse, HttpError } from '../errors.js';
import { actor } from '../auth.js';
import { TOKEN_SCOPES, TokenNameTaken, tokenExpired, type TokenInfo, type TokenScope } from '../../appliance/core/tokens.js';
import type { ApiContext } from '../context.js';

const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
/** The longest lifetime a token may be given: longer is "never" in disguise, so ask for that. */
export const MAX_TOKEN_LIFETIME_S = 3650 * 86_400;

/** "30d", "12h", "90m", "3600s" in seconds; undefined when it is not one. */
export function parseLifetime(text: string): number | undefined {
  const match = /^([1-9][0-9]{0,9})([smhd])$/.exec(text);
  return match ? Number(match[1]) * UNIT_S[match[2]] : undefined;
}

const TokenItem = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    scope: { type: 'string', enum: [...TOKEN_SCOPES] },
    createdAt: { type: 'string' },
    lastUsedAt: { type: ['string', 'null'] },
    expiresAt: { type: ['string', 'null'], description: 'after this the token is refused (401 token_expired); null: never' },
    expired: { type: 'boolean' },
  },
} as const;

const listed = (token: TokenInfo) => ({ ...token, expired: tokenExpired(token) });

export default async function tokensPlugin(app: FastifyInstance, ctx: ApiContext) {
  app.get('/v1/auth/self', {
    config: { scope: 'read' },
    schema: { tags: ['tokens'], summary: 'The calling token: its name, scope and expiry (never its secret)', response: { 200: TokenItem, 401: ErrorResponse } },
  }, async (request) => listed(request.token!));

  app.get('/v1/tokens', {
    config: { scope: 'admin' },
    schema: { tags: ['tokens'], summary: 'API tokens: name, scope, expiry, last use (never their secrets or hashes)', response: { 200: { type: 'object', properties: { items: { type: 'array', items: TokenItem } } }, 401: ErrorResponse, 403: ErrorResponse } },
  }, async () => ({ items: ctx.store.tokens().map(listed) }));

  app.post('/v1/tokens', {
    config: { scope: 'admin' },
    schema: {
      tags: ['tokens'],
      summary: 'Create a token; its secret is returned once, in this answer only',
      description: 'scope: read (every GET), operate (also VPN initiate/terminate, BGP reset/soft-reset, commit confirm/cancel, reconcile) or admin (everything; the default is read). expires_in: a lifetime such as 30d, 12h, 90m or 3600s (at most 3650d); without it the token does not expire.',
      body: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
          scope: { type: 'string', enum: [...TOKEN_SCOPES] },
          expires_in: { type: 'string', description: 'e.g. 30d, 12h, 90m, 3600s' },
        },
      },
      response: { 201: { type: 'object', additionalProperties: true }, 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 409: ErrorResponse },
    },
  }, async (request, reply) => {
    const { name, scope, expires_in: expiresIn } = request.body as { name: string; scope?: TokenScope; expires_in?: string };
    let expiresAt: string | null = null;
    if (expiresIn !== undefined) {
      const seconds = parseLifetime(expiresIn);
      if (seconds === undefined) throw new HttpError(400, 'invalid_request', `expires_in "${expiresIn}" is not a lifetime such as 30d, 12h, 90m or 3600s`, '/expires_in');
      if (seconds > MAX_TOKEN_LIFETIME_S) throw new HttpError(400, 'invalid_request', `expires_in "${expiresIn}" is longer than 3650d; leave it out for a token that does not expire`, '/expires_in');
      expiresAt = new Date(Date.now() + seconds * 1000).toISOString();
    }
    let created;
    try {
      created = ctx.store.createToken(name, scope ?? 'read', expiresAt);
    } catch (error) {
      if (error instanceof TokenNameTaken) throw new HttpError(409, 'conflict', error.message, '/name');
      throw error;
    }
    const lifetime = expiresAt ? `, expires ${expiresAt}` : '';
    ctx.store.audit({ actor: actor(request), action: `create token ${name} (${created.info.scope}${lifetime})`, revision: null, outcome: 'ok', detail: '' });
    return reply.code(201).send({ ...listed(created.info), token: created.token });
  });

  app.delete('/v1/tokens/:id', {
    config: { scope: 'admin' },
    schema: { tags: ['tokens'], summary: 'Revoke a token (by its id, see GET /v1/tokens)', params: { type: 'object', properties: { id: { type: 'string' } } }, response: { 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse } },
  }, async (request) => {
    const { id } = request.params as { id: string };
    if (request.token?.id === id) throw new HttpError(409, 'conflict', 'a token cannot revoke itself');
    const token = ctx.store.tokens().find((t) => t.id === id);
    if (!token || !ctx.store.deleteToken(id)) throw new HttpError(404, 'not_found', `no token ${id}`);
    ctx.store.audit({ actor: actor(request), action: `revoke token ${token.name} (${id})`, revision: null, outcome: 'ok', detail: '' });
    return { deleted: id, name: token.name };
  });
}
