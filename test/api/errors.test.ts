// One error shape for every 4xx and 5xx, whoever raised it: the plugins,
// verify, a failed apply, fastify's validation, its body parsers and its
// router. A 5xx is logged with its request id and hides internals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { smallConfig, startHarness, type Harness } from './support/harness.js';

const rulesUrl = '/v1/firewall/policies/a-to-b/rules';
const KEYS = ['error', 'message', 'problems', 'request_id'];
/** fields a given code may add (documented in ErrorResponse) */
const EXTRA: Record<string, string[]> = { apply_failed: ['subsystem', 'rolled_back'], revision_mismatch: ['current_revision'] };

function expectOneShape(response: LightMyRequestResponse, status: number, code: string, label: string) {
  expect(response.statusCode, `${label}: ${response.body}`).toBe(status);
  expect(response.headers['content-type'], label).toMatch(/^application\/json/);
  const body = response.json();
  expect(Object.keys(body).sort(), label).toEqual([...KEYS, ...(EXTRA[code] ?? [])].sort());
  expect(body.error, label).toBe(code);
  expect(typeof body.message, label).toBe('string');
  expect(body.message.length, label).toBeGreaterThan(0);
  expect(body.request_id, label).toMatch(/^[0-9a-f-]{36}$/);
  expect(Array.isArray(body.problems), label).toBe(true);
  for (const problem of body.problems) expect(Object.keys(problem).sort(), label).toEqual(['message', 'path']);
  return body as { error: string; message: string; problems: Array<{ path: string; message: string }>; request_id: string };
}

describe('one error shape', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    expect((await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: smallConfig() })).statusCode).toBe(200);
  });
  afterAll(() => h.close());

  const admin = () => h.auth();
  const cases: Array<{ label: string; status: number; code: string; request: () => InjectOptions; path?: string }> = [
    { label: 'body fails the schema', status: 400, code: 'invalid_request', path: '/firewall/policies/0/rules/1/action', request: () => ({ method: 'POST', url: rulesUrl, headers: admin(), payload: { id: 'x', action: 'allow' } }) },
    { label: 'body misses a field', status: 400, code: 'invalid_request', path: '/firewall/policies/0/rules/1/action', request: () => ({ method: 'POST', url: rulesUrl, headers: admin(), payload: { id: 'x' } }) },
    { label: 'query fails the schema', status: 400, code: 'invalid_request', path: '(querystring)/limit', request: () => ({ method: 'GET', url: '/v1/audit?limit=0', headers: admin() }) },
    { label: 'path param fails the schema', status: 400, code: 'invalid_request', path: '(params)/id', request: () => ({ method: 'GET', url: '/v1/revisions/abc', headers: admin() }) },
    { label: 'not JSON', status: 400, code: 'invalid_json', request: () => ({ method: 'PUT', url: '/v1/config', headers: { ...admin(), 'content-type': 'application/json' }, payload: '{"interfaces": [' }) },
    { label: 'empty JSON body', status: 400, code: 'invalid_request', request: () => ({ method: 'PUT', url: '/v1/config', headers: { ...admin(), 'content-type': 'application/json' }, payload: '' }) },
    { label: '__proto__ key', status: 400, code: 'invalid_json', request: () => ({ method: 'PUT', url: '/v1/config', headers: { ...admin(), 'content-type': 'application/json' }, payload: '{"__proto__": {"x": 1}}' }) },
    { label: 'not YAML', status: 400, code: 'invalid_yaml', path: '/', request: () => ({ method: 'PUT', url: '/v1/config', headers: { ...admin(), 'content-type': 'application/yaml' }, payload: 'a: [' }) },
    { label: 'too deep', status: 400, code: 'nesting_too_deep', path: '/', request: () => ({ method: 'PUT', url: '/v1/config', headers: { ...admin(), 'content-type': 'application/json' }, payload: '['.repeat(100) + ']'.repeat(100) }) },
    { label: 'no token', status: 401, code: 'unauthorized', path: '(headers)/authorization', request: () => ({ method: 'GET', url: '/v1/config' }) },
    { label: 'read token writes', status: 403, code: 'forbidden', request: () => ({ method: 'POST', url: '/v1/reconcile', headers: h.auth(h.reader) }) },
    { label: 'unknown route', status: 404, code: 'not_found', request: () => ({ method: 'GET', url: '/v1/nowhere?x=1', headers: admin() }) },
    { label: 'unknown item', status: 404, code: 'not_found', path: '/firewall/policies/0/rules', request: () => ({ method: 'GET', url: `${rulesUrl}/ghost`, headers: admin() }) },
    { label: 'unknown parent', status: 404, code: 'not_found', request: () => ({ method: 'GET', url: '/v1/firewall/policies/ghost/rules', headers: admin() }) },
    { label: 'duplicate id', status: 409, code: 'conflict', path: '/firewall/policies/0/rules', request: () => ({ method: 'POST', url: rulesUrl, headers: admin(), payload: { id: 'web', action: 'accept' } }) },
    { label: 'nothing to confirm', status: 409, code: 'conflict', request: () => ({ method: 'POST', url: '/v1/commit/confirm', headers: admin() }) },
    { label: 'stale If-Match', status: 412, code: 'revision_mismatch', path: '(headers)/if-match', request: () => ({ method: 'DELETE', url: `${rulesUrl}/web`, headers: { ...admin(), 'if-match': '"99"' } }) },
    { label: 'unknown content type', status: 415, code: 'unsupported_media_type', request: () => ({ method: 'PUT', url: '/v1/config', headers: { ...admin(), 'content-type': 'text/plain' }, payload: 'hello' }) },
    { label: 'merge patch on PUT', status: 415, code: 'unsupported_media_type', request: () => ({ method: 'PUT', url: '/v1/config', headers: { ...admin(), 'content-type': 'application/merge-patch+json' }, payload: '{}' }) },
    { label: 'validate fails', status: 400, code: 'config_validate_failed', path: '/interfaces/0/mtu', request: () => ({ method: 'PATCH', url: '/v1/config', headers: admin(), payload: { interfaces: [{ name: 'vpc0', role: 'vpc', zone: 'vpc-a', mtu: 'big' }] } }) },
    { label: 'verify fails', status: 422, code: 'config_verify_failed', path: '/firewall/policies/0/rules/1/destination/0', request: () => ({ method: 'POST', url: rulesUrl, headers: admin(), payload: { id: 'x', action: 'accept', destination: ['ghost'] } }) },
  ];

  for (const c of cases) {
    it(`${c.status} ${c.code}: ${c.label}`, async () => {
      const body = expectOneShape(await h.app.inject(c.request()), c.status, c.code, c.label);
      if (c.path) expect(body.problems.map((p) => p.path), c.label).toContain(c.path);
    });
  }

  it('a failed apply is a 500 in the same shape, logged with its request id', async () => {
    h.kernel.fault = (c) => (c.program === 'nft' && c.args[0] === '-j' && c.args[1] === '-f' ? { code: 1, stderr: 'Error: Could not process rule: boom' } : undefined);
    try {
      const response = await h.app.inject({ method: 'POST', url: rulesUrl, headers: h.auth(), payload: { id: 'dns', action: 'accept', services: ['udp/53'] } });
      const body = expectOneShape(response, 500, 'apply_failed', 'apply fails');
      expect(response.json()).toMatchObject({ subsystem: 'firewall', rolled_back: true });
      const logged = h.log.lines.map((l) => JSON.parse(l)).find((l) => l.request_id === body.request_id);
      expect(logged).toMatchObject({ level: 'error', message: 'request failed', status: 500, code: 'apply_failed', method: 'POST', route: '/v1/firewall/policies/:policy/rules' });
    } finally {
      h.kernel.fault = undefined;
    }
  });

  it('an unexpected error is a 500 that hides its internals; the log has them under the request id', async () => {
    const report = h.appliance.status.reportJson;
    h.appliance.status.reportJson = () => Promise.reject(new Error('status exploded at /secret/internal/path'));
    try {
      const response = await h.app.inject({ method: 'GET', url: '/v1/status', headers: h.auth() });
      const body = expectOneShape(response, 500, 'internal', 'unexpected');
      expect(response.body).not.toMatch(/exploded|secret|internal\/path|at .*\.ts/);
      expect(body.message).toMatch(/request id/);
      const logged = h.log.lines.map((l) => JSON.parse(l)).find((l) => l.request_id === body.request_id);
      expect(logged).toMatchObject({ level: 'error', status: 500, code: 'internal', error: 'status exploded at /secret/internal/path' });
      expect(logged.stack).toMatch(/status exploded/);
    } finally {
      h.appliance.status.reportJson = report;
    }
  });

  it('4xx answers are not logged as errors; request ids differ per request', async () => {
    const before = h.log.lines.length;
    const a = await h.app.inject({ method: 'GET', url: `${rulesUrl}/ghost`, headers: h.auth() });
    const b = await h.app.inject({ method: 'GET', url: `${rulesUrl}/ghost`, headers: h.auth() });
    expect(a.json().request_id).not.toBe(b.json().request_id);
    expect(h.log.lines.slice(before).filter((l) => JSON.parse(l).message === 'request failed')).toEqual([]);
  });

  it('the OpenAPI document declares the one shape', async () => {
    const spec = (await h.app.inject({ method: 'GET', url: '/docs/json' })).json();
    const schema = spec.paths['/v1/config'].put.responses['422'].content['application/json'].schema;
    expect(schema.required).toEqual(KEYS);
    expect(spec.info.description).toMatch(/\{error, message, problems: \[\{path, message\}\], request_id\}/);
  });
});
