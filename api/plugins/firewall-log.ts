// The firewall's packet log: what logging rules and policy defaults saw.
import type { FastifyInstance } from 'fastify';
import { ErrorResponse } from '../errors.js';
import type { ApiContext } from '../context.js';

export default async function firewallLogPlugin(app: FastifyInstance, ctx: ApiContext) {
  app.get('/v1/firewall/log', {
    schema: {
      tags: ['firewall'],
      summary: 'Logged packets, newest first (rules with log: true, policies with log_default: true)',
      querystring: {
        type: 'object',
        properties: {
          limit: { type: 'string', pattern: '^[0-9]{1,4}$' },
          policy: { type: 'string', maxLength: 64 },
          rule: { type: 'string', maxLength: 64 },
        },
      },
      response: { 401: ErrorResponse },
    },
  }, async (request) => {
    const { limit, policy, rule } = request.query as { limit?: string; policy?: string; rule?: string };
    if (!ctx.firewallLog) return { available: false, entries: [] };
    return { available: true, reader_running: ctx.firewallLog.running, entries: ctx.firewallLog.recent(Math.min(Number(limit ?? 100), 5000), { policy, rule }) };
  });
}
