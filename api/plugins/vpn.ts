// IPsec site-to-site VPN: peers, their tunnels and certificates are views of
// the document's `vpn` section (edits go through the commit pipeline);
// status, initiate/terminate and the event stream talk to the running charon
// (appliance/subsystems/vpn), whose failures arrive as ControlFailed.
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../appliance/model/schema.js';
import { IkePeer, VpnCertificate, VpnTunnel } from '../../appliance/subsystems/vpn/schema.js';
import type { VpnControl } from '../../appliance/subsystems/vpn/control.js';
import { ErrorResponse, HttpError } from '../errors.js';
import type { ApiContext } from '../context.js';
import { controlAction } from '../control-failed.js';
import { registerCollection, type CollectionSpec } from './collection.js';

type Item = Record<string, unknown>;
/** How often an idle event stream carries a comment, so proxies and clients see it alive. */
export const SSE_KEEPALIVE_MS = 15_000;

/** `vpn` with its required `peers`, created on first use. */
function ensureVpn(doc: Config): NonNullable<Config['vpn']> {
  doc.vpn ??= { peers: [] };
  return doc.vpn;
}

const peerIndex = (doc: Config, name: string) => (doc.vpn?.peers ?? []).findIndex((p) => p.name === name);

const peers: CollectionSpec = {
  url: '/v1/vpn/peers',
  tag: 'vpn',
  noun: 'IKE peer',
  key: 'name',
  item: IkePeer,
  list: (doc) => doc.vpn?.peers as Item[] | undefined,
  documentPath: () => '/vpn/peers',
  ensure: (doc) => ensureVpn(doc).peers as unknown as Item[],
};

const tunnels: CollectionSpec = {
  url: '/v1/vpn/peers/:peer/tunnels',
  tag: 'vpn',
  noun: 'tunnel',
  key: 'name',
  item: VpnTunnel,
  parentMissing: (doc, params) => (peerIndex(doc, params.peer!) < 0 ? `no IKE peer "${params.peer}"` : undefined),
  list: (doc, params) => doc.vpn?.peers[peerIndex(doc, params.peer!)]?.tunnels as Item[] | undefined,
  documentPath: (doc, params) => `/vpn/peers/${peerIndex(doc, params.peer!)}/tunnels`,
  ensure: (doc, params) => doc.vpn!.peers[peerIndex(doc, params.peer!)]!.tunnels as unknown as Item[],
};

const certificates: CollectionSpec = {
  url: '/v1/vpn/certificates',
  tag: 'vpn',
  noun: 'certificate',
  key: 'name',
  item: VpnCertificate,
  list: (doc) => doc.vpn?.certificates as Item[] | undefined,
  documentPath: () => '/vpn/certificates',
  ensure: (doc) => {
    const vpn = ensureVpn(doc);
    vpn.certificates ??= [];
    return vpn.certificates as unknown as Item[];
  },
};

const TunnelParams = {
  type: 'object',
  required: ['peer', 'tunnel'],
  properties: { peer: { type: 'string', maxLength: 32 }, tunnel: { type: 'string', maxLength: 32 } },
} as const;

const ControlQuery = {
  type: 'object',
  properties: { timeout_ms: { type: 'string', pattern: '^[0-9]{1,6}$', description: 'how long charon may take (default 15000 for initiate, 10000 for terminate)' } },
} as const;

export default async function vpnPlugin(app: FastifyInstance, ctx: ApiContext) {
  for (const spec of [peers, tunnels, certificates]) registerCollection(app, ctx, spec);

  const vpn = (): VpnControl => {
    if (!ctx.vpn) throw new HttpError(409, 'vpn_unavailable', 'this appliance runs without the VPN subsystem');
    return ctx.vpn;
  };

  app.get('/v1/vpn/status', {
    schema: {
      tags: ['vpn'],
      summary: 'Per peer and tunnel: state, established time, SPIs, algorithms, bytes/packets in/out, last rekey; the data plane in use',
      response: { 401: ErrorResponse, 409: ErrorResponse },
    },
  }, async () => controlAction(() => vpn().status()));

  /** POST /v1/vpn/peers/{peer}/tunnels/{tunnel}/<action>: the tunnel from the path, an optional timeout, charon's answers as HTTP codes. */
  const tunnelControl = (action: string, summary: string, run: (peer: string, tunnel: string, timeoutMs?: number) => Promise<Item>) =>
    app.post(`/v1/vpn/peers/:peer/tunnels/:tunnel/${action}`, {
      config: { scope: 'operate' },
      schema: {
        tags: ['vpn'],
        summary,
        params: TunnelParams,
        querystring: ControlQuery,
        response: { 200: { type: 'object', additionalProperties: true }, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 502: ErrorResponse, 504: ErrorResponse },
      },
    }, async (request) => {
      const { peer, tunnel } = request.params as { peer: string; tunnel: string };
      const timeout = (request.query as { timeout_ms?: string }).timeout_ms;
      return { peer, tunnel, ...(await controlAction(() => run(peer, tunnel, timeout === undefined ? undefined : Number(timeout)))) };
    });

  tunnelControl('initiate', 'Bring a tunnel up now (and its IKE SA); answers once it is up. A tunnel that is up already is left as it is (initiated: false)',
    async (peer, tunnel, timeoutMs) => ({ initiated: await vpn().initiate(peer, tunnel, timeoutMs), up: true }));
  tunnelControl('terminate', "Close a tunnel's CHILD_SAs: a reset. A start_action start tunnel is always on and comes back within seconds; to keep one down, set its start_action to none",
    async (peer, tunnel, timeoutMs) => ({ terminated: await vpn().terminate(peer, tunnel, timeoutMs) }));

  app.get('/v1/vpn/events', {
    schema: {
      tags: ['vpn'],
      summary: 'Server-sent events: ike-updown, child-updown, ike-rekey, child-rekey (names, states and SPIs; never keys)',
      response: { 401: ErrorResponse, 409: ErrorResponse },
    },
  }, async (request, reply) => {
    const control = vpn();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': junction vpn events\n\n');
    let sequence = 0;
    const unsubscribe = control.onEvent((event) => {
      sequence++;
      res.write(`id: ${sequence}\nevent: ${event.event}\ndata: ${JSON.stringify(event)}\n\n`);
    });
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), SSE_KEEPALIVE_MS);
    keepalive.unref();
    const cleanup = () => {
      clearInterval(keepalive);
      unsubscribe();
    };
    request.raw.once('close', cleanup);
    res.once('close', cleanup);
    res.once('error', cleanup);
  });
}
