// BGP over Direct Connect: the `bgp` section's settings and its neighbors
// are views of the document (edits go through the commit pipeline; the
// password is write-only like every secret); status, learned routes and
// neighbor resets talk to the running bird (appliance/subsystems/bgp), whose
// failures arrive as ControlFailed.
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Config } from '../../appliance/model/schema.js';
import { Asn, BgpNeighbor, BgpSection } from '../../appliance/subsystems/bgp/schema.js';
import type { BgpControl } from '../../appliance/subsystems/bgp/control.js';
import { redactSecrets } from '../../appliance/model/secrets.js';
import { ErrorResponse, HttpError } from '../errors.js';
import { CommitQuery, CommitResponse, commitResponse, editDocument, readDocument, type ApiContext } from '../context.js';
import { controlAction } from '../control-failed.js';
import { registerCollection, type CollectionSpec } from './collection.js';

type Item = Record<string, unknown>;

/** The section's own settings: everything but the neighbor list. */
const BgpSettings = Type.Object(
  {
    asn: Asn,
    router_id: BgpSection.properties.router_id,
    kernel: Type.Optional(BgpSection.properties.kernel),
  },
  { additionalProperties: false },
);

const neighbors: CollectionSpec = {
  url: '/v1/bgp/neighbors',
  tag: 'bgp',
  noun: 'BGP neighbor',
  key: 'id',
  item: BgpNeighbor,
  list: (doc) => doc.bgp?.neighbors as Item[] | undefined,
  documentPath: () => '/bgp/neighbors',
  ensure: (doc) => {
    if (!doc.bgp) throw new HttpError(409, 'bgp_not_configured', 'set the local AS and router id first (PUT /v1/bgp with asn and router_id)', '/bgp');
    return doc.bgp.neighbors as unknown as Item[];
  },
};

const IdParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 32 } } } as const;
const ControlResponse = { type: 'object', additionalProperties: true } as const;

export default async function bgpPlugin(app: FastifyInstance, ctx: ApiContext) {
  registerCollection(app, ctx, neighbors);

  const bgp = (): BgpControl => {
    if (!ctx.bgp) throw new HttpError(409, 'bgp_unavailable', 'this appliance runs without the BGP subsystem');
    return ctx.bgp;
  };

  app.get('/v1/bgp', {
    schema: { tags: ['bgp'], summary: 'The bgp section (neighbors included, passwords masked)', response: { 401: ErrorResponse, 404: ErrorResponse } },
  }, async (_request, reply) => {
    const section = readDocument(ctx, reply).bgp;
    if (!section) throw new HttpError(404, 'not_found', 'BGP is not configured', '/bgp');
    return redactSecrets(section);
  });

  app.put('/v1/bgp', {
    schema: { tags: ['bgp'], summary: 'Set the local AS, router id and kernel settings (the neighbors stay)', body: BgpSettings, querystring: CommitQuery, response: { 200: CommitResponse, 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse } },
    config: { documentPath: () => '/bgp' },
  }, async (request, reply) => {
    const settings = request.body as { asn: number; router_id: string; kernel?: { metric?: number } };
    const outcome = await editDocument(ctx, request, reply, (doc: Config) => {
      doc.bgp = { ...settings, neighbors: doc.bgp?.neighbors ?? [] };
      return doc;
    });
    return commitResponse(outcome, { item: settings });
  });

  app.delete('/v1/bgp', {
    schema: { tags: ['bgp'], summary: 'Remove the whole bgp section (bird stops, its routes go)', querystring: CommitQuery, response: { 200: CommitResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse } },
  }, async (request, reply) => {
    const outcome = await editDocument(ctx, request, reply, (doc: Config) => {
      if (!doc.bgp) throw new HttpError(404, 'not_found', 'BGP is not configured', '/bgp');
      delete doc.bgp;
      return doc;
    });
    return commitResponse(outcome);
  });

  app.get('/v1/bgp/status', {
    schema: {
      tags: ['bgp'],
      summary: 'Per neighbor: BGP state, since/uptime, last error (e.g. a TCP MD5 mismatch), prefixes received/accepted/advertised, BFD state; bird itself; TCP MD5 capability',
      response: { 401: ErrorResponse, 409: ErrorResponse },
    },
  }, async () => controlAction(() => bgp().status()));

  app.get('/v1/bgp/routes', {
    schema: {
      tags: ['bgp'],
      summary: 'Routes learned over BGP (parsed from BIRD reply codes), optionally inside a prefix, from one neighbor, or those the import filter rejected',
      querystring: {
        type: 'object',
        properties: {
          prefix: { type: 'string', maxLength: 64, description: 'routes inside this network, e.g. 192.168.0.0/16' },
          neighbor: { type: 'string', maxLength: 32, description: 'neighbor id' },
          filtered: { type: 'string', enum: ['true', 'false', '1', '0'], description: 'the routes the import filter rejected (kept by BIRD for inspection)' },
          limit: { type: 'string', pattern: '^[0-9]{1,6}$', description: 'at most this many routes (default 1000)' },
        },
      },
      response: { 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 502: ErrorResponse, 504: ErrorResponse },
    },
  }, async (request) => {
    const q = request.query as { prefix?: string; neighbor?: string; filtered?: string; limit?: string };
    const limit = Math.min(Number(q.limit ?? 1000), 100_000);
    const routes = await controlAction(() => bgp().routes({
      ...(q.prefix !== undefined ? { prefix: q.prefix } : {}),
      ...(q.neighbor !== undefined ? { neighbor: q.neighbor } : {}),
      filtered: q.filtered === 'true' || q.filtered === '1',
      limit: limit + 1,
    }), (failure) => (failure.status === 400 ? '(querystring)/prefix' : undefined));
    return { routes: routes.slice(0, limit), truncated: routes.length > limit };
  });

  app.post('/v1/bgp/neighbors/:id/reset', {
    config: { scope: 'operate' },
    schema: { tags: ['bgp'], summary: 'Hard reset: close the session and open it again', params: IdParams, response: { 200: ControlResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 502: ErrorResponse, 504: ErrorResponse } },
  }, async (request) => {
    const { id } = request.params as { id: string };
    return { id, reset: 'hard', bird: await controlAction(() => bgp().reset(id)) };
  });

  app.post('/v1/bgp/neighbors/:id/soft-reset', {
    config: { scope: 'operate' },
    schema: {
      tags: ['bgp'],
      summary: 'Soft reset: run the filters again (route refresh in, re-send out) without closing the session',
      params: IdParams,
      querystring: { type: 'object', properties: { direction: { type: 'string', enum: ['in', 'out'], description: 'default both' } } },
      response: { 200: ControlResponse, 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 502: ErrorResponse, 504: ErrorResponse },
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const { direction } = request.query as { direction?: 'in' | 'out' };
    return { id, reset: 'soft', direction: direction ?? 'both', bird: await controlAction(() => bgp().softReset(id, direction)) };
  });
}
