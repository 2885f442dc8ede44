// The REST API: fastify with one plugin per resource, JSON Schema
// validation, OpenAPI at /docs, bearer-token auth and one error handler.
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { parse as parseYaml } from 'yaml';
import { registerAuth } from './auth.js';
import { registerErrorHandler, HttpError } from './errors.js';
import type { ApiContext } from './context.js';
import configPlugin from './plugins/config.js';
import revisionsPlugin from './plugins/revisions.js';
import resourcesPlugin from './plugins/resources.js';
import systemPlugin from './plugins/system.js';
import commitPlugin from './plugins/commit.js';
import vpnPlugin from './plugins/vpn.js';
import bgpPlugin from './plugins/bgp.js';
import firewallLogPlugin from './plugins/firewall-log.js';
import vpnRemoteConfigPlugin from './plugins/vpn-remote-config.js';

export interface ServerOptions {
  /** fastify's own request log (off in tests) */
  logger?: boolean;
}

export async function buildServer(ctx: ApiContext, options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ? { level: 'info', redact: ['req.headers.authorization'] } : false,
    bodyLimit: 64 * 1024 * 1024, // 100k-rule documents
    ajv: {
      // Reject what the schema does not know instead of silently dropping it.
      customOptions: { removeAdditional: false, useDefaults: false, coerceTypes: false, allErrors: true },
    },
  });

  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseYaml(body as string));
    } catch (error) {
      done(new HttpError(400, 'invalid_yaml', `the body is not valid YAML: ${(error as Error).message.split('\n')[0]}`, '/'), undefined);
    }
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Junction API', version: '1', description: 'Virtual router/firewall for cloud L2 VPCs. Every change is a new revision of one configuration document.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  registerErrorHandler(app);
  registerAuth(app, ctx.store);
  await app.register(systemPlugin, ctx);
  await app.register(configPlugin, ctx);
  await app.register(revisionsPlugin, ctx);
  await app.register(commitPlugin, ctx);
  await app.register(firewallLogPlugin, ctx);
  await app.register(resourcesPlugin, ctx);
  await app.register(vpnPlugin, ctx);
  await app.register(bgpPlugin, ctx);
  await app.register(vpnRemoteConfigPlugin, ctx);
  return app;
}
