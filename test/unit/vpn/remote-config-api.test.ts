// GET /v1/vpn/peers/{name}/remote-config through app.inject, with a stub
// store holding one revision: admin only (it can carry the PSK), the PSK
// never in the log or the audit entry, include_secret=false, 404/422/400,
// and the OpenAPI description saying all of this.
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAuth } from '../../../api/auth.js';
import { registerErrorHandler } from '../../../api/errors.js';
import type { ApiContext } from '../../../api/context.js';
import vpnRemoteConfigPlugin from '../../../api/plugins/vpn-remote-config.js';
import type { Config } from '../../../appliance/model/schema.js';
import type { AuditEntry, Store, TokenInfo } from '../../../appliance/core/store.js';

const PSK = 'api-remote-config-psk-0123456789';
const DOC: Config = {
  interfaces: [{ name: 'ccnn0', role: 'ccnn', zone: 'ccnn', addresses: ['100.64.0.2/24'] }],
  zones: [{ name: 'ccnn' }],
  vpn: {
    peers: [
      {
        name: 'dc1', remote: '198.18.1.2', auth: { method: 'psk', psk: PSK },
        tunnels: [{ name: 'lan', local_subnets: ['10.1.0.0/24'], remote_subnets: ['192.168.50.0/24'] }],
      },
      {
        name: 'weird', remote: '198.18.1.3', auth: { method: 'psk', psk: PSK }, ike_proposals: ['aes256-sha256-curve25519'],
        tunnels: [{ name: 'lan', local_subnets: ['10.1.0.0/24'], remote_subnets: ['192.168.51.0/24'] }],
      },
      {
        name: 'legacy', remote: '198.18.1.4', ike_version: 1, auth: { method: 'psk', psk: PSK },
        tunnels: [{ name: 'lan', local_subnets: ['10.1.0.0/24'], remote_subnets: ['192.168.52.0/24'] }],
      },
    ],
  },
};

const token = (name: string, scope: 'admin' | 'read'): TokenInfo => ({ id: name, name, scope: scope as TokenInfo['scope'], createdAt: '', lastUsedAt: null, expiresAt: null });

describe('GET /v1/vpn/peers/{name}/remote-config', () => {
  let app: FastifyInstance;
  const audit: Array<Omit<AuditEntry, 'at'>> = [];
  const logLines: string[] = [];
  const admin = { authorization: 'Bearer admin-token' };
  const reader = { authorization: 'Bearer read-token' };

  beforeAll(async () => {
    const store = {
      authenticate: (t: string) => (t === 'admin-token' ? token('ops', 'admin') : t === 'read-token' ? token('viewer', 'read') : undefined),
      currentRevision: () => ({ id: 7, document: DOC }),
      currentRevisionId: () => 7,
      audit: (entry: Omit<AuditEntry, 'at'>) => audit.push(entry),
    } as unknown as Store;
    const ctx = { store } as unknown as ApiContext;
    app = Fastify({
      logger: { level: 'trace', stream: { write: (line: string) => logLines.push(line) } },
      // as api/server.ts: an unknown query parameter is refused, not dropped
      ajv: { customOptions: { removeAdditional: false, useDefaults: false, coerceTypes: false, allErrors: true } },
    });
    await app.register(swagger, { openapi: { info: { title: 't', version: '1' } } });
    registerErrorHandler(app);
    registerAuth(app, store);
    await app.register(vpnRemoteConfigPlugin, ctx);
    await app.ready();
  });
  afterAll(() => app.close());

  it('gives an admin the config with the PSK, uncached, as an attachment, and audits it without the key', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/vpn/peers/dc1/remote-config?format=strongswan', headers: admin });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['content-disposition']).toBe('attachment; filename="junction-dc1-strongswan.conf"');
    expect(response.body).toContain(`secret = "${PSK}"`);
    expect(response.body).toContain('remote_addrs = 100.64.0.2');
    expect(audit.at(-1)).toMatchObject({ actor: 'token:ops', action: 'export remote config of IKE peer dc1 (strongswan, pre-shared key included)', revision: 7 });
    expect(JSON.stringify(audit)).not.toContain(PSK);
    expect(logLines.join('')).not.toContain(PSK);
  });

  it('refuses a read token with 403 although it is a GET', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/vpn/peers/dc1/remote-config?format=cisco-asa', headers: reader });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ error: 'forbidden' });
    expect(response.body).not.toContain(PSK);
    const none = await app.inject({ method: 'GET', url: '/v1/vpn/peers/dc1/remote-config?format=cisco-asa' });
    expect(none.statusCode).toBe(401);
  });

  it('puts a placeholder there with include_secret=false', async () => {
    for (const format of ['strongswan', 'libreswan', 'cisco-asa', 'fortigate', 'paloalto', 'pfsense']) {
      const response = await app.inject({ method: 'GET', url: `/v1/vpn/peers/dc1/remote-config?format=${format}&include_secret=false`, headers: admin });
      expect(response.statusCode, format).toBe(200);
      expect(response.body).not.toContain(PSK);
      expect(response.body).toMatch(/PRE-SHARED-KEY/);
    }
    expect(audit.at(-1)!.action).toBe('export remote config of IKE peer dc1 (pfsense)');
  });

  it('answers 404 for an unknown peer, 400 for an unknown format, 422 with the path when the vendor cannot express the peer', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/vpn/peers/nope/remote-config?format=strongswan', headers: admin })).statusCode).toBe(404);
    const bad = await app.inject({ method: 'GET', url: '/v1/vpn/peers/dc1/remote-config?format=juniper', headers: admin });
    expect(bad.statusCode).toBe(400);
    const missing = await app.inject({ method: 'GET', url: '/v1/vpn/peers/dc1/remote-config', headers: admin });
    expect(missing.statusCode).toBe(400);
    const cannot = await app.inject({ method: 'GET', url: '/v1/vpn/peers/weird/remote-config?format=paloalto', headers: admin });
    expect(cannot.statusCode).toBe(422);
    expect(cannot.json()).toMatchObject({ error: 'remote_config_unsupported', problems: [{ path: '/vpn/peers/1/ike_proposals/0' }] });
    expect(cannot.json().message).toMatch(/PAN-OS cannot express DH group 31/);
    expect(cannot.body).not.toContain(PSK);
  });

  it('fits the config to on-prem objects named by parameters, and answers 400 naming a bad or misplaced one', async () => {
    const fitted = await app.inject({ method: 'GET', url: '/v1/vpn/peers/dc1/remote-config?format=cisco-asa&crypto_map=OUTSIDE_MAP&crypto_map_seq=300&outside_interface=WAN', headers: admin });
    expect(fitted.statusCode).toBe(200);
    expect(fitted.body).toMatch(/^crypto map OUTSIDE_MAP 300 set peer 100\.64\.0\.2$/m);
    expect(fitted.body).not.toMatch(/^crypto map \S+ interface/m);
    const cases: Array<[string, string]> = [
      ['format=paloalto&tunnel_unit=0', 'tunnel_unit'],
      ['format=paloalto&crypto_map=X', 'crypto_map'],
      ['format=libreswan&version=6', 'version'],
      ['format=cisco-asa&crypto_map=a%20b', 'crypto_map'],
    ];
    for (const [query, param] of cases) {
      const response = await app.inject({ method: 'GET', url: `/v1/vpn/peers/dc1/remote-config?${query}`, headers: admin });
      expect(response.statusCode, query).toBe(400);
      expect(response.json(), query).toMatchObject({ error: 'invalid_request', problems: [{ path: `(querystring)/${param}` }] });
      expect(response.body).not.toContain(PSK);
    }
    const unknown = await app.inject({ method: 'GET', url: '/v1/vpn/peers/dc1/remote-config?format=paloalto&wan=x', headers: admin });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().problems).toEqual([expect.objectContaining({ path: '(querystring)/wan' })]);
  });

  it('answers 422 for a Cisco ASA IKEv1 peer with SHA-2, saying what the ASA can do', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/vpn/peers/legacy/remote-config?format=cisco-asa', headers: admin });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ error: 'remote_config_unsupported', problems: [{ path: '/vpn/peers/2/ike_proposals/0' }] });
    expect(response.json().message).toMatch(/IKEv2 only: set ike_version 2 on this peer, or use a SHA-1 proposal/);
  });

  it('documents the secret and the admin requirement in OpenAPI', () => {
    const doc = app.swagger();
    const op = (doc as { paths: Record<string, { get: { description: string; summary: string } }> }).paths['/v1/vpn/peers/{name}/remote-config']!.get;
    expect(op.summary).toMatch(/admin token required/);
    expect(op.description).toMatch(/returns the pre-shared key in clear/);
    expect(op.description).toMatch(/requires an \*\*admin\*\* token even though it is a GET/);
    expect(op.description).toMatch(/never logged/);
  });
});
