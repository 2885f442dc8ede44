// Token scopes and expiry through the API: create with a scope and a
// lifetime, an expired token refused with 401 saying so (audited, not
// rate-limited), names unique, the list never carrying a secret or a hash.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { startHarness, type Harness } from './support/harness.js';

describe('token scopes and expiry', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('creates an operate token that expires in 30 days; it can reset but not change the config', async () => {
    const created = await h.app.inject({ method: 'POST', url: '/v1/tokens', headers: h.auth(), payload: { name: 'noc', scope: 'operate', expires_in: '30d' } });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body).toMatchObject({ name: 'noc', scope: 'operate', expired: false });
    const lifetime = Date.parse(body.expiresAt) - Date.now();
    expect(lifetime).toBeGreaterThan(30 * 86_400_000 - 60_000);
    expect(lifetime).toBeLessThanOrEqual(30 * 86_400_000);
    expect((await h.app.inject({ method: 'POST', url: '/v1/reconcile', headers: h.auth(body.token) })).statusCode).toBe(200);
    const put = await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(body.token), payload: { interfaces: [], zones: [] } });
    expect(put.statusCode).toBe(403);
    expect(put.json().message).toBe('token "noc" has scope operate; PUT /v1/config needs admin');
    expect(h.appliance.store.auditLog(5).map((e) => e.action)).toContain('create token noc (operate, expires ' + body.expiresAt + ')');
    // the token tells a client what it is (the dashboard hides what it may not do), never its secret
    const self = await h.app.inject({ method: 'GET', url: '/v1/auth/self', headers: h.auth(body.token) });
    expect(self.statusCode).toBe(200);
    expect(self.json()).toEqual({ id: body.id, name: 'noc', scope: 'operate', createdAt: body.createdAt, lastUsedAt: expect.any(String), expiresAt: body.expiresAt, expired: false });
    expect(self.body).not.toContain(body.token);
    expect((await h.app.inject({ method: 'GET', url: '/v1/auth/self' })).statusCode).toBe(401);
  });

  it('refuses an expired token with 401 token_expired, audits it and does not count it as a guess', async () => {
    const { token } = h.appliance.store.createToken('old', 'admin', new Date(Date.now() - 1000).toISOString());
    const expiry = h.appliance.store.tokens().find((t) => t.name === 'old')!.expiresAt;
    for (let i = 0; i < 15; i++) {
      const response = await h.app.inject({ method: 'GET', url: '/v1/config', headers: h.auth(token), remoteAddress: '198.51.100.77' });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ error: 'token_expired', message: `token "old" expired at ${expiry}; ask an admin for a new one` });
    }
    // 15 tries, above the burst of 10 failed logins: an expired token is not a guess, so no 429.
    expect(h.appliance.store.auditLog(1)[0]).toMatchObject({ actor: 'token:old', action: 'login failed', outcome: 'rejected', detail: 'expired token on GET /v1/config' });
    const listed = (await h.app.inject({ method: 'GET', url: '/v1/tokens', headers: h.auth() })).json().items as Array<{ name: string; expired: boolean }>;
    expect(listed.find((t) => t.name === 'old')!.expired).toBe(true);
    expect(listed.find((t) => t.name === 'test-admin')).toMatchObject({ expired: false, expiresAt: null });
  });

  it('names the field of a bad lifetime or scope, and refuses a name in use', async () => {
    for (const expires_in of ['30', '30 days', '0d', '-1d', '1y', '3651d']) {
      const response = await h.app.inject({ method: 'POST', url: '/v1/tokens', headers: h.auth(), payload: { name: 'x', expires_in } });
      expect(response.statusCode, expires_in).toBe(400);
      expect(response.json().problems[0].path, expires_in).toBe('/expires_in');
    }
    const scope = await h.app.inject({ method: 'POST', url: '/v1/tokens', headers: h.auth(), payload: { name: 'x', scope: 'root' } });
    expect(scope.statusCode).toBe(400);
    expect(scope.json().problems[0].path).toBe('/scope');
    const taken = await h.app.inject({ method: 'POST', url: '/v1/tokens', headers: h.auth(), payload: { name: 'test-reader' } });
    expect(taken.statusCode).toBe(409);
    expect(taken.json()).toMatchObject({ message: 'a token named "test-reader" exists already', problems: [{ path: '/name' }] });
    expect(h.appliance.store.tokens().filter((t) => t.name === 'x')).toEqual([]);
  });

  it('lists tokens without secrets or hashes, and revokes one by id, saying its name', async () => {
    const created = (await h.app.inject({ method: 'POST', url: '/v1/tokens', headers: h.auth(), payload: { name: 'temp' } })).json();
    expect(created.scope).toBe('read');
    const list = await h.app.inject({ method: 'GET', url: '/v1/tokens', headers: h.auth() });
    expect(list.body).not.toContain(created.token);
    expect(list.body).not.toContain(createHash('sha256').update(created.token).digest('hex'));
    expect(Object.keys(list.json().items[0]).sort()).toEqual(['createdAt', 'expired', 'expiresAt', 'id', 'lastUsedAt', 'name', 'scope']);
    const revoked = await h.app.inject({ method: 'DELETE', url: `/v1/tokens/${created.id}`, headers: h.auth() });
    expect(revoked.json()).toEqual({ deleted: created.id, name: 'temp' });
    expect((await h.app.inject({ method: 'GET', url: '/v1/config', headers: h.auth(created.token) })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'DELETE', url: `/v1/tokens/${created.id}`, headers: h.auth() })).statusCode).toBe(404);
  });
});
