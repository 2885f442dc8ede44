// Authentication: no token, a wrong one, another scheme; reads need any
// token; health and the OpenAPI document need none. Which scope each route
// needs is test/api/scopes.test.ts; expiry and the token API tokens.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collections } from '../../api/plugins/resources.js';
import { startHarness, mutating, type Harness } from './support/harness.js';

type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The mutating endpoints as the code defines them, with placeholder params. */
function expectedMutatingRoutes(): Array<{ method: Method; url: string }> {
  const routes: Array<{ method: Method; url: string }> = [
    { method: 'PUT', url: '/v1/config' },
    { method: 'PATCH', url: '/v1/config' },
    { method: 'POST', url: '/v1/revisions/{id}/rollback' },
    { method: 'POST', url: '/v1/reconcile' },
    { method: 'POST', url: '/v1/tokens' },
    { method: 'DELETE', url: '/v1/tokens/{id}' },
  ];
  for (const spec of collections) {
    const list = spec.url.replace(/:(\w+)/g, '{$1}');
    const item = `${list}/{${spec.key}}`;
    routes.push({ method: 'POST', url: list }, { method: 'PUT', url: item }, { method: 'DELETE', url: item });
  }
  return routes;
}

const concrete = (url: string) => url.replace(/\{id\}/g, '1').replace(/\{(\w+)\}/g, 'x1');

describe('authentication and authorization', () => {
  let h: Harness;
  let openapiMutating: Array<{ method: Method; url: string }>;

  beforeAll(async () => {
    h = await startHarness();
    const docs = await h.app.inject({ method: 'GET', url: '/docs/json' });
    const paths = docs.json().paths as Record<string, Record<string, unknown>>;
    openapiMutating = Object.entries(paths).flatMap(([url, ops]) =>
      Object.keys(ops).filter((m) => ['post', 'put', 'patch', 'delete'].includes(m)).map((m) => ({ method: m.toUpperCase() as Method, url })),
    );
  });
  afterAll(() => h.close());

  it('the OpenAPI document lists every mutating route (the loop below walks all of them)', () => {
    const key = (r: { method: string; url: string }) => `${r.method} ${r.url}`;
    const expected = expectedMutatingRoutes().map(key);
    // 10 collections x 3 + config PUT/PATCH + rollback + reconcile + tokens POST/DELETE
    expect(expected).toHaveLength(36);
    expect(openapiMutating.map(key)).toEqual(expect.arrayContaining(expected));
  });

  it('every mutating route answers 401 without a token, 401 with a wrong one, 403 with a read token', async () => {
    const before = h.runner.commands.length;
    const body = { interfaces: [], zones: [] };
    for (const [index, route] of openapiMutating.entries()) {
      const url = concrete(route.url);
      const payload = route.method === 'DELETE' ? undefined : body;
      const none = await h.app.inject({ method: route.method, url, payload });
      expect(none.statusCode, `${route.method} ${url} without a token`).toBe(401);
      expect(none.json().error).toBe('unauthorized');
      // One source per route: failed logins from one source are rate-limited (tested in login-limit.test.ts).
      const remoteAddress = `198.51.100.${index + 1}`;
      const wrong = await h.app.inject({ method: route.method, url, payload, remoteAddress, headers: { authorization: 'Bearer jct_not-a-real-token' } });
      expect(wrong.statusCode, `${route.method} ${url} with a wrong token`).toBe(401);
      expect(wrong.json().message).toBe('invalid token');
      const basic = await h.app.inject({ method: route.method, url, payload, headers: { authorization: `Basic ${h.admin}` } });
      expect(basic.statusCode, `${route.method} ${url} with a non-bearer scheme`).toBe(401);
      const read = await h.app.inject({ method: route.method, url, payload, headers: h.auth(h.reader) });
      expect(read.statusCode, `${route.method} ${url} with a read token`).toBe(403);
      expect(read.json().error).toBe('forbidden');
      expect(read.json().message).toMatch(/^token "test-reader" has scope read; \S+ \S+ needs (operate|admin)$/);
    }
    // Nothing got as far as the system, and nothing was committed.
    expect(h.transcriptSince(before)).toEqual([]);
    expect(h.appliance.store.currentRevisionId()).toBeNull();
    expect(h.appliance.store.tokens().map((t) => t.name).sort()).toEqual(['test-admin', 'test-operator', 'test-reader']);
  });

  it('a percent-encoded path cannot slip past authentication', async () => {
    const get = await h.app.inject({ method: 'GET', url: '/%761/config' });
    expect(get.statusCode).toBe(401);
    const before = h.runner.commands.length;
    const put = await h.app.inject({ method: 'PUT', url: '/%761/config', payload: { interfaces: [], zones: [] } });
    expect(put.statusCode).toBe(401);
    const readPut = await h.app.inject({ method: 'PUT', url: '/v1/%63onfig', payload: { interfaces: [], zones: [] }, headers: h.auth(h.reader) });
    expect(readPut.statusCode).toBe(403);
    expect(h.transcriptSince(before)).toEqual([]);
  });

  it('reads need a token of any scope', async () => {
    for (const url of ['/v1/config', '/v1/status', '/v1/revisions', '/v1/commit', '/v1/audit', '/v1/interfaces', '/v1/firewall/policies']) {
      expect((await h.app.inject({ method: 'GET', url })).statusCode, url).toBe(401);
      expect((await h.app.inject({ method: 'GET', url, headers: h.auth(h.reader) })).statusCode, url).toBe(200);
    }
  });

  it('GET /v1/health needs no token', async () => {
    const health = await h.app.inject({ method: 'GET', url: '/v1/health' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok', revision: null });
  });

  it('/docs serves the OpenAPI document without a token, with every path under /v1 but /metrics', async () => {
    const docs = await h.app.inject({ method: 'GET', url: '/docs/json' });
    expect(docs.statusCode).toBe(200);
    const spec = docs.json();
    expect(spec.openapi).toMatch(/^3\./);
    expect(spec.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    const paths = Object.keys(spec.paths);
    expect(paths).toContain('/v1/config');
    expect(paths).toContain('/v1/firewall/policies/{policy}/rules/{id}');
    expect(paths.filter((p) => !p.startsWith('/v1/'))).toEqual(['/metrics']);
    const ui = await h.app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
    // it shares the dashboard's origin (and its token): a strict policy, no inline script, not framed
    for (const url of ['/docs/', '/docs/static/swagger-initializer.js', '/docs/static/swagger-ui-bundle.js']) {
      const answer = await h.app.inject({ method: 'GET', url });
      expect(answer.statusCode, url).toBe(200);
      const csp = String(answer.headers['content-security-policy']);
      expect(csp, url).toContain("script-src 'self'");
      expect(csp, url).toContain("frame-ancestors 'none'");
      expect(/script-src ([^;]*)/.exec(csp)?.[1], url).toBe("'self'");
    }
    // and the page it serves loads no inline script
    const page = ui.body;
    expect(page).toMatch(/<script src=/);
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('an admin token gets through, and token secrets are shown once only', async () => {
    const created = await h.app.inject({ method: 'POST', url: '/v1/tokens', headers: h.auth(), payload: { name: 'ci', scope: 'read' } });
    expect(created.statusCode).toBe(201);
    const { id, token } = created.json();
    expect(token).toMatch(/^jct_/);
    const listed = await h.app.inject({ method: 'GET', url: '/v1/tokens', headers: h.auth() });
    expect(listed.body).not.toContain(token);
    expect(listed.json().items.map((t: { name: string }) => t.name)).toContain('ci');
    // The new token reads but cannot change anything, and is dead once revoked.
    expect((await h.app.inject({ method: 'GET', url: '/v1/config', headers: h.auth(token) })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'POST', url: '/v1/reconcile', headers: h.auth(token) })).statusCode).toBe(403);
    const revoked = await h.app.inject({ method: 'DELETE', url: `/v1/tokens/${id}`, headers: h.auth() });
    expect(revoked.statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: '/v1/config', headers: h.auth(token) })).statusCode).toBe(401);
  });

  it('an admin token cannot revoke itself', async () => {
    const self = h.appliance.store.tokens().find((t) => t.name === 'test-admin')!;
    const response = await h.app.inject({ method: 'DELETE', url: `/v1/tokens/${self.id}`, headers: h.auth() });
    expect(response.statusCode).toBe(409);
    expect(h.appliance.store.authenticate(h.admin)).toBeDefined();
  });

  it('POST /v1/reconcile with an admin token runs a reconcile (nothing to repair before any commit)', async () => {
    const before = h.runner.commands.length;
    const response = await h.app.inject({ method: 'POST', url: '/v1/reconcile', headers: h.auth() });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ revision: null, repaired: {}, errors: {} });
    expect(mutating(h.transcriptSince(before))).toEqual([]);
  });
});
