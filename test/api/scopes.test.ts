// Every route, as fastify registered it (the access table auth.ts records
// from the onRoute hook), against the scope this file expects for it: a new
// route that is not listed here fails the first test, so nobody adds an
// endpoint without deciding who may call it. Then each route is called with
// the token just below its scope (refused) and with its scope (let through).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeAccess, type RouteAccess } from '../../api/auth.js';
import { startHarness, type Harness } from './support/harness.js';

const OPERATE = [
  'POST /v1/reconcile',
  'POST /v1/commit/confirm',
  'POST /v1/commit/cancel',
  'POST /v1/vpn/peers/:peer/tunnels/:tunnel/initiate',
  'POST /v1/vpn/peers/:peer/tunnels/:tunnel/terminate',
  'POST /v1/bgp/neighbors/:id/reset',
  'POST /v1/bgp/neighbors/:id/soft-reset',
];

const READ = [
  '/v1/status', '/v1/config', '/v1/revisions', '/v1/revisions/:id', '/v1/revisions/:id/diff', '/v1/audit', '/v1/commit',
  '/v1/firewall/log', '/v1/vpn/status', '/v1/vpn/events', '/v1/bgp', '/v1/bgp/status', '/v1/bgp/routes',
  '/v1/dhcp', '/v1/dhcp/leases', '/metrics', '/v1/auth/self',
];

const ADMIN = [
  'PUT /v1/config', 'PATCH /v1/config', 'POST /v1/revisions/:id/rollback', 'PUT /v1/bgp', 'DELETE /v1/bgp',
  'DELETE /v1/dhcp', 'PUT /v1/dhcp/dns-forwarder', 'DELETE /v1/dhcp/dns-forwarder',
  'GET /v1/tokens', 'HEAD /v1/tokens', 'POST /v1/tokens', 'DELETE /v1/tokens/:id',
  // a GET, but it can return a pre-shared key
  'GET /v1/vpn/peers/:name/remote-config', 'HEAD /v1/vpn/peers/:name/remote-config',
];

/** Lists in the document, each with GET/HEAD list and item (read) and POST, PUT, DELETE (admin). */
const COLLECTIONS = [
  '/v1/interfaces/:name', '/v1/zones/:name', '/v1/objects/addresses/:name', '/v1/objects/services/:name',
  '/v1/firewall/policies/:name', '/v1/firewall/policies/:policy/rules/:id',
  '/v1/nat/egress/:id', '/v1/nat/port-forwards/:id', '/v1/nat/one-to-one/:id', '/v1/routes/static/:id',
  '/v1/vpn/peers/:name', '/v1/vpn/peers/:peer/tunnels/:name', '/v1/vpn/certificates/:name', '/v1/bgp/neighbors/:id',
  '/v1/dhcp/servers/:interface', '/v1/dhcp/servers/:interface/reservations/:mac',
];

const PUBLIC = [
  // the dashboard's static files: the data behind them comes from /v1 with a token
  '/', '/dashboard/:file',
  '/v1/health', '/docs', '/docs/static/index.html', '/docs/static/swagger-initializer.js', '/docs/json', '/docs/yaml', '/docs/static/*',
];

/** Who may call each route, written out: the expectation the code is checked against. */
function expectedAccess(): Map<string, RouteAccess> {
  const expected = new Map<string, RouteAccess>();
  const readable = (url: string, access: RouteAccess) => {
    expected.set(`GET ${url}`, access);
    expected.set(`HEAD ${url}`, access);
  };
  for (const url of READ) readable(url, 'read');
  for (const url of PUBLIC) readable(url, 'public');
  expected.set('HEAD /docs/', 'public'); // swagger-ui's redirect to /docs/static/index.html
  for (const item of COLLECTIONS) {
    const list = item.replace(/\/:\w+$/, '');
    readable(list, 'read');
    readable(item, 'read');
    expected.set(`POST ${list}`, 'admin');
    expected.set(`PUT ${item}`, 'admin');
    expected.set(`DELETE ${item}`, 'admin');
  }
  for (const key of OPERATE) expected.set(key, 'operate');
  for (const key of ADMIN) expected.set(key, 'admin');
  return expected;
}

const concrete = (url: string) => url.replace(/:id\b/g, '1').replace(/:(\w+)/g, 'x1').replace('*', 'swagger-ui.css');

describe('every route requires the scope it is expected to', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('the route table and the expectations name the same routes with the same access', () => {
    const actual = new Map(routeAccess(h.app).map((r) => [`${r.method} ${r.url}`, r.access]));
    const expected = expectedAccess();
    const untested = [...actual.keys()].filter((key) => !expected.has(key));
    expect(untested, 'routes with no expected scope in test/api/scopes.test.ts: add them').toEqual([]);
    expect([...expected.keys()].filter((key) => !actual.has(key)), 'expected routes that do not exist').toEqual([]);
    for (const [key, access] of expected) expect(actual.get(key), key).toBe(access);
    // A change in the count is a change to review.
    expect(actual.size).toBe(COLLECTIONS.length * 7 + READ.length * 2 + PUBLIC.length * 2 + 1 + OPERATE.length + ADMIN.length);
  });

  it('each route refuses the scope below its own and lets its own through', async () => {
    const before = h.runner.commands.length;
    const tokens = { read: h.reader, operate: h.operator, admin: h.admin } as const;
    const outcomes: string[] = [];
    for (const { method, url, access } of routeAccess(h.app)) {
      const call = (token?: string) => h.app.inject({
        method: method as 'GET',
        url: concrete(url),
        // A body the schemas refuse: passing auth shows as 400, and nothing is committed.
        ...(method === 'POST' || method === 'PUT' || method === 'PATCH' ? { payload: { 'not-a-field': true } } : {}),
        ...(token ? { headers: h.auth(token) } : {}),
      });
      const key = `${method} ${url}`;
      if (access === 'public') {
        expect((await call()).statusCode, `${key} without a token`).not.toBeOneOf([401, 403]);
        continue;
      }
      const anonymous = await call();
      expect(anonymous.statusCode, `${key} without a token`).toBe(401);
      if (access !== 'read') {
        const below = access === 'admin' ? 'operate' : 'read';
        const refused = await call(tokens[below]);
        expect(refused.statusCode, `${key} with a ${below} token`).toBe(403);
        if (method !== 'HEAD') expect(refused.json().message, key).toBe(`token "test-${below === 'read' ? 'reader' : 'operator'}" has scope ${below}; ${method} ${url} needs ${access}`);
        if (access === 'admin') expect((await call(h.reader)).statusCode, `${key} with a read token`).toBe(403);
      }
      const allowed = await call(tokens[access]);
      expect(allowed.statusCode, `${key} with a ${access} token`).not.toBeOneOf([401, 403]);
      outcomes.push(`${key} ${allowed.statusCode}`);
    }
    expect(outcomes.length).toBeGreaterThan(100);
    // Nothing was committed by walking every route.
    expect(h.appliance.store.currentRevisionId()).toBeNull();
    expect(h.transcriptSince(before).filter((line) => /^nft -j -f|^ip (addr|link set|-[46] route (replace|del))/.test(line))).toEqual([]);
  });

  it('the OpenAPI document says for each operation which token it needs', async () => {
    const spec = (await h.app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, { description?: string; security?: unknown[] }>> };
    expect(spec.paths['/v1/reconcile'].post.description).toMatch(/^Access: an operate or admin token\./);
    expect(spec.paths['/v1/config'].put.description).toMatch(/^Access: an admin token\./);
    expect(spec.paths['/v1/config'].get.description).toMatch(/^Access: a token of any scope/);
    expect(spec.paths['/v1/health'].get.description).toBe('Access: no token needed.');
    expect(spec.paths['/v1/health'].get.security).toEqual([]);
    expect(spec.paths['/v1/config'].get.security).toBeUndefined(); // the document's default: bearer
    for (const [url, operations] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(operations)) expect(operation.description, `${method} ${url}`).toMatch(/^Access: /);
    }
  });
});
