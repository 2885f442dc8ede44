// GET /metrics: the Prometheus text exposition (core/metrics.ts), for a
// token of any scope, or without one from an address in the scrape
// allow-list (`serve --metrics-allow CIDR[,CIDR]`), which is how a
// Prometheus server usually scrapes.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseAddress, parsePrefix, rangeContains, type IpRange } from '../../appliance/model/ip.js';
import { ErrorResponse } from '../errors.js';
import type { ApiContext } from '../context.js';

/** The allow-list as ranges; a CIDR that does not parse is the caller's error (serve checks them at start). */
export function scrapeAllowList(cidrs: string[]): IpRange[] {
  return cidrs.map((cidr) => {
    const prefix = parsePrefix(cidr);
    if (!prefix) throw new Error(`not an address or CIDR: ${JSON.stringify(cidr)}`);
    return prefix;
  });
}

/** True when the request comes over TCP from an allow-listed address (an IPv4-mapped IPv6 address counts as IPv4). */
export function fromAllowedScraper(request: FastifyRequest, allowed: IpRange[]): boolean {
  const ip = request.ip;
  if (!ip || !allowed.length) return false;
  const address = parseAddress(/^::ffff:[0-9.]+$/i.test(ip) ? ip.slice(7) : ip);
  return !!address && allowed.some((range) => rangeContains(range, { family: address.family, first: address.value, last: address.value }));
}

export default async function metricsPlugin(app: FastifyInstance, ctx: ApiContext) {
  if (!ctx.metrics) return;
  const { service } = ctx.metrics;
  const allowed = scrapeAllowList(ctx.metrics.allow);
  app.get('/metrics', {
    config: { scope: 'read', tokenUnless: (request: FastifyRequest) => fromAllowedScraper(request, allowed) },
    schema: {
      tags: ['system'],
      summary: `Prometheus metrics (text format 0.0.4): interfaces, rule and NAT counters, conntrack, tunnels, BGP neighbors, daemons, commits. Any token, or none from a --metrics-allow address. Kernel and daemon readings are cached for up to ${service.maxAgeS} s (junction_metrics_age_seconds).`,
      response: { 401: ErrorResponse, 429: ErrorResponse },
    },
  }, async (_request, reply) => {
    const text = await service.exposition();
    return reply.header('content-type', service.contentType).header('cache-control', 'no-store').send(text);
  });
}
