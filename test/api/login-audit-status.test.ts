// Failed logins are rate-limited per source (429 with Retry-After) and
// recorded in the audit log without the token; /v1/audit honours ?limit;
// /v1/status shows a commit that awaits confirmation.
import { createServer, request } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoginLimiter } from '../../api/login-limiter.js';
import { loginSource } from '../../api/auth.js';
import type { FastifyRequest } from 'fastify';
import { json, smallConfig, startHarness, type Harness } from './support/harness.js';

describe('LoginLimiter', () => {
  it('allows a burst, then one failure per refill interval; other sources are unaffected', () => {
    let now = 0;
    const limiter = new LoginLimiter({ burst: 3, perMinute: 6, maxSources: 100, now: () => now });
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterS('a')).toBe(0);
      limiter.recordFailure('a');
    }
    expect(limiter.retryAfterS('a')).toBe(10); // 6 a minute: one every 10 s
    expect(limiter.retryAfterS('b')).toBe(0);
    now = 4_000;
    expect(limiter.retryAfterS('a')).toBe(6);
    now = 10_000;
    expect(limiter.retryAfterS('a')).toBe(0);
    limiter.recordFailure('a');
    expect(limiter.retryAfterS('a')).toBe(10);
    now = 10_000 + 60_000;
    expect(limiter.retryAfterS('a')).toBe(0);
  });

  it('remembers at most maxSources, forgetting the one that failed longest ago', () => {
    const limiter = new LoginLimiter({ burst: 1, perMinute: 1, maxSources: 2, now: () => 0 });
    for (const source of ['a', 'b', 'c']) limiter.recordFailure(source);
    expect(limiter.retryAfterS('a')).toBe(0);
    expect(limiter.retryAfterS('b')).toBeGreaterThan(0);
    expect(limiter.retryAfterS('c')).toBeGreaterThan(0);
  });

  it('keys IPv6 sources by /64 and IPv4-mapped ones as IPv4', () => {
    const source = (ip: string | undefined) => loginSource({ ip } as FastifyRequest);
    expect(source('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(source('2001:db8:1:2:bbbb::9')).toBe('2001:db8:1:2::/64');
    expect(source('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(source('192.0.2.7')).toBe('192.0.2.7');
    expect(source(undefined)).toBe('unix socket');
  });
});

describe('failed logins through the API', () => {
  let h: Harness;
  beforeEach(async () => { h = await startHarness(); });
  afterEach(() => h.close());

  const WRONG = 'jct_wrong-token-that-must-never-be-stored';
  const get = (token: string, remoteAddress = '203.0.113.5') =>
    h.app.inject({ method: 'GET', url: '/v1/config', remoteAddress, headers: { authorization: `Bearer ${token}` } });

  it('10 failures from one source, then 429 with Retry-After even for a good token; other sources still get in', async () => {
    for (let i = 0; i < 10; i++) expect((await get(WRONG)).statusCode).toBe(401);
    const limited = await get(WRONG);
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(6);
    expect(limited.json()).toMatchObject({ error: 'too_many_failed_logins', message: expect.stringMatching(/203\.0\.113\.5.*try again in \d+ s/), problems: [{ path: '(headers)/authorization' }] });
    expect((await get(h.admin)).statusCode).toBe(429);
    expect((await get(h.admin, '203.0.113.6')).statusCode).toBe(200);
    expect((await get(WRONG, '203.0.113.6')).statusCode).toBe(401);
  });

  it('the root-only Unix socket is not limited (only root can fail there), but its failures are audited', async () => {
    const socketPath = join(h.stateDir, 'api.sock');
    const server = createServer((req, res) => h.app.routing(req, res));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const status = (token: string) => new Promise<number>((resolve, reject) => {
      const req = request({ socketPath, path: '/v1/config', headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end();
    });
    try {
      for (let i = 0; i < 12; i++) expect(await status(WRONG)).toBe(401);
      expect(await status(h.admin)).toBe(200);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(h.appliance.store.auditLog(100).filter((e) => e.actor === 'source:unix socket' && e.action === 'login failed')).toHaveLength(12);
  });

  it('each failure is in the audit log with its source, never with the token; a missing token is not a login attempt', async () => {
    for (let i = 0; i < 3; i++) await get(WRONG);
    await h.app.inject({ method: 'POST', url: '/v1/reconcile', remoteAddress: '203.0.113.9', headers: { authorization: `Bearer ${WRONG}x` } });
    await h.app.inject({ method: 'GET', url: '/v1/config' });
    const entries = json(await h.app.inject({ method: 'GET', url: '/v1/audit', headers: h.auth() })).entries;
    const failures = entries.filter((e: { action: string }) => e.action === 'login failed');
    expect(failures).toHaveLength(4);
    expect(failures[0]).toMatchObject({ actor: 'source:203.0.113.9', outcome: 'rejected', revision: null, detail: 'invalid token on POST /v1/reconcile' });
    expect(failures[1]).toMatchObject({ actor: 'source:203.0.113.5', detail: 'invalid token on GET /v1/config' });
    expect(JSON.stringify(entries)).not.toContain('wrong-token');
    expect(h.log.lines.join('\n')).not.toContain('wrong-token');
  });
});

describe('/v1/audit?limit', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    for (let i = 0; i < 5; i++) h.appliance.store.audit({ actor: 'test', action: `entry ${i}`, revision: null, outcome: 'ok', detail: '' });
  });
  afterEach(() => h.close());

  const audit = (query: string) => h.app.inject({ method: 'GET', url: `/v1/audit${query}`, headers: h.auth() });

  it('returns the newest `limit` entries', async () => {
    expect(json(await audit('?limit=2')).entries.map((e: { action: string }) => e.action)).toEqual(['entry 4', 'entry 3']);
    expect(json(await audit('?limit=1000')).entries).toHaveLength(5);
    expect(json(await audit('')).entries).toHaveLength(5);
  });

  it('refuses a limit outside 1..1000 or an unknown parameter, naming it', async () => {
    for (const [query, path] of [['?limit=0', '(querystring)/limit'], ['?limit=1001', '(querystring)/limit'], ['?limit=ten', '(querystring)/limit'], ['?limit=-1', '(querystring)/limit'], ['?limt=5', '(querystring)/limt']]) {
      const response = await audit(query);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().problems.map((p: { path: string }) => p.path), query).toContain(path);
    }
  });

  it('the store bounds a read by itself too', () => {
    for (let i = 0; i < 1005; i++) h.appliance.store.audit({ actor: 'test', action: 'bulk', revision: null, outcome: 'ok', detail: '' });
    expect(h.appliance.store.auditLog(5000)).toHaveLength(1000);
    expect(h.appliance.store.auditLog(0)).toHaveLength(1);
  });
});

describe('/v1/status and a pending commit-confirm', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    expect((await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: smallConfig() })).statusCode).toBe(200);
  });
  afterEach(() => h.close());

  const status = async () => json(await h.app.inject({ method: 'GET', url: '/v1/status', headers: h.auth(h.reader) }));

  it('shows the revision, what it reverts to, the deadline and the seconds left; null once confirmed', async () => {
    expect((await status()).pending_confirm).toBeNull();
    const trial = await h.app.inject({ method: 'POST', url: '/v1/firewall/policies/a-to-b/rules?confirm_timeout=120', headers: h.auth(), payload: { id: 'dns', action: 'accept' } });
    expect(trial.statusCode).toBe(201);
    const pending = (await status()).pending_confirm;
    expect(pending).toEqual({ revision: 2, revert_to: 1, deadline: trial.json().pending_confirm.deadline, seconds_left: expect.any(Number), author: 'token:test-admin' });
    expect(pending.seconds_left).toBeGreaterThan(100);
    expect(pending.seconds_left).toBeLessThanOrEqual(120);
    expect(json(await h.app.inject({ method: 'GET', url: '/v1/commit', headers: h.auth() })).pending_confirm).toMatchObject({ revision: 2, revert_to: 1, deadline: pending.deadline });
    expect((await h.app.inject({ method: 'POST', url: '/v1/commit/confirm', headers: h.auth() })).statusCode).toBe(200);
    expect((await status()).pending_confirm).toBeNull();
  });
});
