// GET /v1/vpn/peers/{name}/remote-config: the configuration the on-prem
// admin pastes into their gateway, generated from the same peer definition
// (appliance/subsystems/vpn/remote-config). With a PSK peer this is the one place a
// secret leaves Junction, so it needs an admin token although it is a GET,
// the answer is never cached, the body is never logged, and every export is
// audited (without the secret).
import type { FastifyInstance } from 'fastify';
import { actor } from '../auth.js';
import { ErrorResponse, HttpError } from '../errors.js';
import { currentDocument, type ApiContext } from '../context.js';
import {
  FORMAT_MEDIA,
  REMOTE_CONFIG_FORMATS,
  REMOTE_CONFIG_PARAMS,
  RemoteConfigError,
  RemoteConfigParamError,
  generateRemoteConfig,
  isRemoteConfigFormat,
  parseRemoteConfigParams,
  type Vendor,
} from '../../appliance/subsystems/vpn/remote-config/index.js';

const DESCRIPTION = [
  'Generates the configuration for the on-prem side of IKE peer `name` from the same peer definition: the mirror image',
  '(their local subnets = the tunnels\' remote_subnets, their peer = Junction\'s endpoint address, IKE identities swapped,',
  'the same proposals in the vendor\'s names, DPD, IKE version, PFS group and lifetimes).',
  '',
  '**This endpoint returns the pre-shared key in clear** for PSK peers: it is the one place a secret leaves Junction.',
  'It therefore requires an **admin** token even though it is a GET (403 with a read token), the response carries',
  '`Cache-Control: no-store`, the body is never logged, and each export is written to the audit log (without the key).',
  'Pass `include_secret=false` to get the placeholder `<PRE-SHARED-KEY>` instead. For certificate peers the output names',
  'the certificates and says which CA and certificate to install.',
  '',
  'Answers 422 with the offending document path when the vendor cannot express the peer (for example an unsupported DH group,',
  'or SHA-2 with IKEv1 on a Cisco ASA).',
  '',
  'The optional parameters name the on-prem gateway\'s existing objects the config must fit around (interface names, the crypto',
  'map already bound, policy priorities, tunnel interface units, ikeid/reqid); each applies to the formats listed with it, and a',
  'bad or misplaced one answers 400 naming it. Numbers not given are derived from the peer; the header of the output says',
  'what it assumed and which parameter changes each.',
].join('\n');

const PARAM_PROPERTIES = Object.fromEntries(
  Object.entries(REMOTE_CONFIG_PARAMS).map(([name, spec]) => [name, { type: 'string', maxLength: 64, description: `${spec.formats.join(', ')}: ${spec.description}` }]),
);

/** A parameter that is wrong, or does not fit this peer, is the caller's mistake: 400 naming it. */
function asParamRequest<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof RemoteConfigParamError) throw new HttpError(400, 'invalid_request', error.message, `(querystring)/${error.param}`);
    throw error;
  }
}

export default async function vpnRemoteConfigPlugin(app: FastifyInstance, ctx: ApiContext) {
  app.get('/v1/vpn/peers/:name/remote-config', {
    config: { scope: 'admin' }, // a GET, but it can return the pre-shared key
    schema: {
      tags: ['vpn'],
      summary: 'Configuration for the on-prem gateway of an IKE peer (contains the PSK unless include_secret=false; admin token required)',
      description: DESCRIPTION,
      params: { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]{0,31}$' } } },
      querystring: {
        type: 'object',
        required: ['format'],
        additionalProperties: false,
        properties: {
          format: { type: 'string', enum: [...REMOTE_CONFIG_FORMATS], description: 'the on-prem gateway\'s vendor' },
          include_secret: { type: 'string', enum: ['true', 'false', '1', '0'], description: 'default true; false puts <PRE-SHARED-KEY> where the PSK goes' },
          ...PARAM_PROPERTIES,
        },
      },
      response: {
        200: {
          description: 'the configuration text (text/plain; application/xml for pfsense)',
          content: {
            'text/plain': { schema: { type: 'string' } },
            'application/xml': { schema: { type: 'string' } },
          },
        },
        400: ErrorResponse,
        401: ErrorResponse,
        403: ErrorResponse,
        404: ErrorResponse,
        422: ErrorResponse,
      },
    },
  }, async (request, reply) => {
    const { name } = request.params as { name: string };
    const { format: formatParam, include_secret: includeSecretParam, ...given } = request.query as Record<string, string | undefined> & { format: string };
    if (!isRemoteConfigFormat(formatParam)) throw new HttpError(400, 'invalid_request', `unknown format "${formatParam}"`, '(querystring)/format');
    const format: Vendor = formatParam;
    const params = asParamRequest(() => parseRemoteConfigParams(format, given));
    const includeSecret = !(includeSecretParam === 'false' || includeSecretParam === '0');
    const doc = currentDocument(ctx);
    const peer = (doc.vpn?.peers ?? []).find((p) => p.name === name);
    if (!peer) throw new HttpError(404, 'not_found', `no IKE peer "${name}"`);

    let text: string;
    try {
      text = asParamRequest(() => generateRemoteConfig(doc, name, format, { includeSecret, params }));
    } catch (error) {
      if (error instanceof RemoteConfigError) throw new HttpError(422, 'remote_config_unsupported', error.message, error.path);
      throw error;
    }
    const withSecret = peer.auth.method === 'psk' && includeSecret;
    ctx.store.audit({
      actor: actor(request),
      action: `export remote config of IKE peer ${name} (${format}${withSecret ? ', pre-shared key included' : ''})`,
      revision: ctx.store.currentRevisionId(),
      outcome: 'ok',
      detail: '',
    });
    const media = FORMAT_MEDIA[format];
    return reply
      .header('content-type', media.contentType)
      .header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="junction-${name}-${format}.${media.extension}"`)
      .send(text);
  });
}
