// DHCP and DNS for VPC hosts: the `dhcp` section's servers (one per VPC
// interface), their reservations and the DNS forwarder are views of the
// document (edits go through the commit pipeline); the leases are read from
// the running dnsmasq's lease file (appliance/subsystems/dhcp).
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../appliance/model/schema.js';
import { DhcpReservation, DhcpServer, DnsForwarder } from '../../appliance/subsystems/dhcp/schema.js';
import type { DhcpControl } from '../../appliance/subsystems/dhcp/index.js';
import { ErrorResponse, HttpError } from '../errors.js';
import { CommitQuery, CommitResponse, commitResponse, editDocument, readDocument, type ApiContext } from '../context.js';
import { registerCollection, type CollectionSpec } from './collection.js';

type Item = Record<string, unknown>;

const servers: CollectionSpec = {
  url: '/v1/dhcp/servers',
  tag: 'dhcp',
  noun: 'DHCP server',
  key: 'interface',
  item: DhcpServer,
  list: (doc) => doc.dhcp?.servers as Item[] | undefined,
  documentPath: () => '/dhcp/servers',
  ensure: (doc) => {
    doc.dhcp ??= { servers: [] };
    return doc.dhcp.servers as unknown as Item[];
  },
};

const serverIndex = (doc: Config, iface: string) => (doc.dhcp?.servers ?? []).findIndex((s) => s.interface === iface);

const reservations: CollectionSpec = {
  url: '/v1/dhcp/servers/:interface/reservations',
  tag: 'dhcp',
  noun: 'DHCP reservation',
  key: 'mac',
  item: DhcpReservation,
  parentMissing: (doc, params) => (serverIndex(doc, params.interface) < 0 ? `no DHCP server on interface "${params.interface}"` : undefined),
  list: (doc, params) => doc.dhcp?.servers[serverIndex(doc, params.interface)]?.reservations as Item[] | undefined,
  documentPath: (doc, params) => `/dhcp/servers/${serverIndex(doc, params.interface)}/reservations`,
  ensure: (doc, params) => {
    const server = doc.dhcp!.servers[serverIndex(doc, params.interface)];
    server.reservations ??= [];
    return server.reservations as unknown as Item[];
  },
};

const mutationErrors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 412: ErrorResponse, 422: ErrorResponse, 500: ErrorResponse };

export default async function dhcpPlugin(app: FastifyInstance, ctx: ApiContext) {
  registerCollection(app, ctx, servers);
  registerCollection(app, ctx, reservations);

  const dhcp = (): DhcpControl => {
    if (!ctx.dhcp) throw new HttpError(409, 'dhcp_unavailable', 'this appliance runs without the DHCP subsystem');
    return ctx.dhcp;
  };

  app.get('/v1/dhcp', {
    schema: { tags: ['dhcp'], summary: 'The dhcp section: servers per VPC interface and the DNS forwarder', response: { 401: ErrorResponse, 404: ErrorResponse } },
  }, async (_request, reply) => {
    const section = readDocument(ctx, reply).dhcp;
    if (!section) throw new HttpError(404, 'not_found', 'DHCP is not configured', '/dhcp');
    return section;
  });

  app.delete('/v1/dhcp', {
    schema: { tags: ['dhcp'], summary: 'Remove the whole dhcp section (dnsmasq stops; leases already given out run until they expire)', querystring: CommitQuery, response: { 200: CommitResponse, ...mutationErrors } },
  }, async (request, reply) => {
    const outcome = await editDocument(ctx, request, reply, (doc: Config) => {
      if (!doc.dhcp) throw new HttpError(404, 'not_found', 'DHCP is not configured', '/dhcp');
      delete doc.dhcp;
      return doc;
    });
    return commitResponse(outcome);
  });

  app.put('/v1/dhcp/dns-forwarder', {
    schema: { tags: ['dhcp'], summary: 'Set the DNS forwarder (its upstream servers); servers answer DNS where their `dns` is not false', body: DnsForwarder, querystring: CommitQuery, response: { 200: CommitResponse, ...mutationErrors } },
    config: { documentPath: () => '/dhcp/dns_forwarder' },
  }, async (request, reply) => {
    const forwarder = request.body as DnsForwarder;
    const outcome = await editDocument(ctx, request, reply, (doc: Config) => {
      doc.dhcp = { servers: doc.dhcp?.servers ?? [], dns_forwarder: forwarder };
      return doc;
    });
    return commitResponse(outcome, { item: forwarder });
  });

  app.delete('/v1/dhcp/dns-forwarder', {
    schema: { tags: ['dhcp'], summary: 'Remove the DNS forwarder (no interface answers DNS any more)', querystring: CommitQuery, response: { 200: CommitResponse, ...mutationErrors } },
  }, async (request, reply) => {
    const outcome = await editDocument(ctx, request, reply, (doc: Config) => {
      if (!doc.dhcp?.dns_forwarder) throw new HttpError(404, 'not_found', 'no DNS forwarder is configured', '/dhcp/dns_forwarder');
      delete doc.dhcp.dns_forwarder;
      return doc;
    });
    return commitResponse(outcome);
  });

  app.get('/v1/dhcp/leases', {
    schema: {
      tags: ['dhcp'],
      summary: 'The leases dnsmasq has given out (its lease file), each with its interface, MAC, host name and expiry',
      querystring: { type: 'object', properties: { interface: { type: 'string', maxLength: 15, description: 'only the leases on this interface' } }, additionalProperties: false },
      response: { 401: ErrorResponse, 409: ErrorResponse },
    },
  }, async (request) => {
    const { interface: iface } = request.query as { interface?: string };
    return { leases: await dhcp().leases(iface) };
  });
}
