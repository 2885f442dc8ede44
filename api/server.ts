// The REST API: fastify with one plugin per resource, JSON Schema
// validation, depth-bounded body parsers, OpenAPI at /docs, bearer-token
// auth with a failed-login limit, one error handler, and the web dashboard
// at / (static files; it reads and writes only through /v1).
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { randomUUID } from 'node:crypto';
import { registerAuth } from './auth.js';
import { registerErrorHandler } from './errors.js';
import { registerBodyParsers } from './body-parsers.js';
import { DEFAULT_LOGIN_LIMITS, LoginLimiter, type LoginLimiterOptions } from './login-limiter.js';
import { IF_MATCH_HELP } from './revision-tags.js';
import type { ApiContext } from './context.js';
import configPlugin from './plugins/config.js';
import revisionsPlugin from './plugins/revisions.js';
import resourcesPlugin from './plugins/resources.js';
import systemPlugin from './plugins/system.js';
import tokensPlugin from './plugins/tokens.js';
import commitPlugin from './plugins/commit.js';
import vpnPlugin from './plugins/vpn.js';
import bgpPlugin from './plugins/bgp.js';
import dhcpPlugin from './plugins/dhcp.js';
import firewallLogPlugin from './plugins/firewall-log.js';
import vpnRemoteConfigPlugin from './plugins/vpn-remote-config.js';
import metricsPlugin from './plugins/metrics.js';
import dashboardPlugin from './plugins/dashboard.js';

export interface ServerOptions {
  /** fastify's own request log (off in tests); 5xx answers are logged through ctx.log either way */
  logger?: boolean;
  /** failed-login limits per source (defaults: DEFAULT_LOGIN_LIMITS) */
  loginLimits?: LoginLimiterOptions;
  /** the compiled dashboard's directory (default: the build's, next to the plugin) */
  dashboardDir?: string;
}

/**
 * The Content-Security-Policy of /docs: scripts only from its own files (Swagger
 * UI needs no inline script), nothing loaded from elsewhere, never framed.
 * Swagger UI sets inline styles, so styles may be inline; with nothing to
 * load from another origin they cannot carry anything out.
 */
export const DOCS_CSP = "default-src 'self'; base-uri 'self'; connect-src 'self'; font-src 'self' data:; form-action 'self'; frame-ancestors 'none'; img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'";

export async function buildServer(ctx: ApiContext, options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ? { level: 'info', redact: ['req.headers.authorization'] } : false,
    bodyLimit: 64 * 1024 * 1024, // 100k-rule documents
    // Unique across restarts, so a request id in a 5xx answer finds its log line.
    genReqId: () => randomUUID(),
    ajv: {
      // Reject what the schema does not know instead of silently dropping it.
      customOptions: { removeAdditional: false, useDefaults: false, coerceTypes: false, allErrors: true },
    },
  });
  registerBodyParsers(app);
  // First, so that every route (the OpenAPI UI's too) is in its access table.
  registerAuth(app, ctx.store, new LoginLimiter(options.loginLimits ?? DEFAULT_LOGIN_LIMITS));

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Junction API',
        version: '1',
        description: [
          'Virtual router/firewall for cloud L2 VPCs. Every change is a new revision of one configuration document.',
          'Concurrency: every read of the document or a part of it answers with ETag: "<revision>". Writes are serialized; each reads, edits and commits the document as one step, so concurrent writes never lose each other. ' + IF_MATCH_HELP,
          'Errors: every 4xx and 5xx is {error, message, problems: [{path, message}], request_id}; a path is a document path, "(querystring)/name" or "(headers)/name". A 5xx is logged under its request_id.',
          'Bodies nest at most 64 levels deep. Failed logins are limited per source address (429 with Retry-After) and recorded in the audit log.',
          'Tokens have a scope: read (every GET), operate (VPN initiate/terminate, BGP reset/soft-reset, commit confirm/cancel, reconcile) or admin (everything). Each operation says which it needs ("Access: ..."); a token below it gets 403, an expired token 401 token_expired.',
        ].join('\n\n'),
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  // The OpenAPI UI shares the dashboard's origin, where a token lives in
  // sessionStorage: it gets a strict policy of its own (no inline script,
  // nothing from elsewhere, not framed).
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP });

  registerErrorHandler(app, ctx.log);
  await app.register(systemPlugin, ctx);
  await app.register(tokensPlugin, ctx);
  await app.register(configPlugin, ctx);
  await app.register(revisionsPlugin, ctx);
  await app.register(commitPlugin, ctx);
  await app.register(firewallLogPlugin, ctx);
  await app.register(resourcesPlugin, ctx);
  await app.register(vpnPlugin, ctx);
  await app.register(bgpPlugin, ctx);
  await app.register(dhcpPlugin, ctx);
  await app.register(vpnRemoteConfigPlugin, ctx);
  await app.register(metricsPlugin, ctx);
  await app.register(dashboardPlugin, { dir: options.dashboardDir });
  return app;
}
