// GET /metrics over HTTP: who may read it (a token of any scope, or no
// token from an allow-listed address; nothing else, not even from the Unix
// socket without a token), its content type, and the commits the real
// pipeline counts (applied, failed and rolled back, reverted unconfirmed).
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../api/server.js';
import { fromAllowedScraper, scrapeAllowList } from '../../api/plugins/metrics.js';
import type { FastifyRequest } from 'fastify';
import { parseExposition } from '../support/prometheus-text.js';
import { smallConfig, startHarness, type Harness } from './support/harness.js';

describe('GET /metrics', () => {
  let h: Harness;
  let app: FastifyInstance;
  beforeAll(async () => {
    h = await startHarness();
    const { appliance } = h;
    app = await buildServer({ reconciler: appliance.reconciler, store: appliance.store, status: appliance.status, log: h.log, metrics: { service: appliance.metrics, allow: ['192.0.2.0/28', '2001:db8::/64'] } });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await h?.close();
  });

  const scrape = (options: { token?: string; from?: string } = {}) =>
    app.inject({ method: 'GET', url: '/metrics', ...(options.from ? { remoteAddress: options.from } : {}), headers: options.token ? { authorization: `Bearer ${options.token}` } : {} });

  it('answers a read token and an admin token, in the Prometheus text format', async () => {
    for (const token of [h.reader, h.admin]) {
      const response = await scrape({ token, from: '198.51.100.7' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(parseExposition(response.body).types.get('junction_build_info')).toBe('gauge');
    }
  });

  it('answers an allow-listed address without a token (IPv4, IPv4-mapped, IPv6)', async () => {
    for (const from of ['192.0.2.9', '::ffff:192.0.2.14', '2001:db8::5']) expect((await scrape({ from })).statusCode, from).toBe(200);
  });

  it('refuses everyone else without a token or with a wrong one', async () => {
    for (const from of ['192.0.2.16', '198.51.100.7', '2001:db8:0:1::5']) {
      const response = await scrape({ from });
      expect(response.statusCode, from).toBe(401);
      expect(response.json()).toMatchObject({ error: 'unauthorized', problems: [{ path: '(headers)/authorization' }] });
    }
    expect((await scrape({ from: '198.51.100.7', token: 'not-a-token' })).statusCode).toBe(401);
  });

  it('does not count a socket request (no address) as allow-listed', () => {
    expect(fromAllowedScraper({ ip: undefined } as unknown as FastifyRequest, scrapeAllowList(['0.0.0.0/0']))).toBe(false);
  });

  it('counts the pipeline\'s commits: applied, failed (rolled back), with durations', async () => {
    expect((await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: smallConfig() })).statusCode).toBe(200);
    h.kernel.fault = (c) => (c.program === 'nft' && c.args[0] === '-j' && c.args[1] === '-f' ? { code: 1, stderr: 'Error: injected\n' } : undefined);
    const changed = smallConfig();
    changed.firewall.policies[0].rules.push({ id: 'ssh', action: 'drop', services: ['tcp/22'] });
    expect((await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: changed })).statusCode).toBe(500);
    h.kernel.fault = undefined;
    // a dry run and a rejected document never reach apply: not counted
    await h.app.inject({ method: 'PUT', url: '/v1/config?dry_run=true', headers: h.auth(), payload: changed });
    await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: { interfaces: 'nope' } });
    const m = parseExposition((await scrape({ token: h.reader })).body);
    expect(m.value('junction_commits_total', { source: 'api', outcome: 'applied' })).toBe(1);
    expect(m.value('junction_commits_total', { source: 'api', outcome: 'failed' })).toBe(1);
    expect(m.value('junction_commit_duration_seconds_count', { outcome: 'failed' })).toBe(1);
    expect(m.value('junction_revision')).toBe(h.appliance.store.currentRevisionId());
  });

  it('counts a cancelled unconfirmed commit as a revert', async () => {
    const changed = smallConfig();
    changed.firewall.policies[0].rules.push({ id: 'dns', action: 'accept', services: ['udp/53'] });
    expect((await h.app.inject({ method: 'PUT', url: '/v1/config?confirm_timeout=60', headers: h.auth(), payload: changed })).statusCode).toBe(200);
    expect(parseExposition((await scrape({ token: h.reader })).body).value('junction_commit_pending_confirm')).toBe(1);
    expect((await h.app.inject({ method: 'POST', url: '/v1/commit/cancel', headers: h.auth() })).statusCode).toBe(200);
    const m = parseExposition((await scrape({ token: h.reader })).body);
    expect(m.value('junction_commit_reverts_total')).toBe(1);
    expect(m.value('junction_commit_pending_confirm')).toBe(0);
    expect(m.value('junction_commits_total', { source: 'rollback', outcome: 'applied' })).toBe(1);
  });
});
