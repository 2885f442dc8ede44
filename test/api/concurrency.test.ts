// Concurrent writers: every 2xx write is in the document afterwards (each
// read-modify-write runs inside the commit queue), and optimistic
// concurrency with ETag/If-Match refuses a write based on a stale read.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, json, smallConfig, type Harness } from './support/harness.js';

const rulesUrl = '/v1/firewall/policies/a-to-b/rules';

describe('concurrent writers', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    const first = await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: smallConfig() });
    expect(first.statusCode).toBe(200);
  });
  afterEach(() => h.close());

  const ruleIds = async () => json(await h.app.inject({ method: 'GET', url: rulesUrl, headers: h.auth() })).items.map((r: { id: string }) => r.id);

  it('16 parallel rule POSTs and 4 parallel PATCHes all land: every 2xx is in the document afterwards', async () => {
    const posts = Array.from({ length: 16 }, (_, i) =>
      h.app.inject({ method: 'POST', url: rulesUrl, headers: h.auth(), payload: { id: `r${i}`, action: 'accept', services: [`tcp/${8000 + i}`] } }),
    );
    const patches = [{ hostname: 'edge-1' }, { reconcile_interval_s: 45 }, { allow_ping: false }, { flowtable: 'off' }].map((system) =>
      h.app.inject({ method: 'PATCH', url: '/v1/config', headers: { ...h.auth(), 'content-type': 'application/merge-patch+json' }, payload: JSON.stringify({ system }) }),
    );
    const responses = await Promise.all([...posts, ...patches]);

    expect(responses.map((r) => r.statusCode)).toEqual([...Array(16).fill(201), ...Array(4).fill(200)]);
    // Each write made its own revision, and its ETag names it.
    const revisions = responses.map((r) => json(r).revision.id as number);
    expect(new Set(revisions).size).toBe(20);
    for (const r of responses) expect(r.headers.etag).toBe(`"${json(r).revision.id}"`);
    expect(h.appliance.store.currentRevisionId()).toBe(21);

    expect((await ruleIds()).sort()).toEqual(['web', ...Array.from({ length: 16 }, (_, i) => `r${i}`)].sort());
    const config = json(await h.app.inject({ method: 'GET', url: '/v1/config', headers: h.auth() }));
    expect(config.system).toEqual({ hostname: 'edge-1', reconcile_interval_s: 45, allow_ping: false, flowtable: 'off' });
    expect(config.routes.static.map((r: { id: string }) => r.id)).toEqual(['default']);
  });

  it('parallel DELETEs and PUTs of different items do not undo each other', async () => {
    for (const i of [1, 2, 3, 4]) {
      expect((await h.app.inject({ method: 'POST', url: rulesUrl, headers: h.auth(), payload: { id: `r${i}`, action: 'accept' } })).statusCode).toBe(201);
    }
    const responses = await Promise.all([
      h.app.inject({ method: 'DELETE', url: `${rulesUrl}/r1`, headers: h.auth() }),
      h.app.inject({ method: 'DELETE', url: `${rulesUrl}/r2`, headers: h.auth() }),
      h.app.inject({ method: 'PUT', url: `${rulesUrl}/r3`, headers: h.auth(), payload: { id: 'r3', action: 'drop' } }),
      h.app.inject({ method: 'PUT', url: `${rulesUrl}/r4`, headers: h.auth(), payload: { id: 'r4', action: 'reject' } }),
      h.app.inject({ method: 'POST', url: '/v1/routes/static', headers: h.auth(), payload: { id: 'office', destination: '192.168.9.0/24', via: '100.64.0.1' } }),
    ]);
    expect(responses.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 201]);
    const rules = json(await h.app.inject({ method: 'GET', url: rulesUrl, headers: h.auth() })).items;
    expect(rules.map((r: { id: string; action: string }) => `${r.id}:${r.action}`)).toEqual(['web:accept', 'r3:drop', 'r4:reject']);
    const routes = json(await h.app.inject({ method: 'GET', url: '/v1/routes/static', headers: h.auth() })).items;
    expect(routes.map((r: { id: string }) => r.id)).toEqual(['default', 'office']);
  });
});

describe('ETag and If-Match', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  const put = (headers: Record<string, string> = {}) =>
    h.app.inject({ method: 'PUT', url: '/v1/config', headers: { ...h.auth(), ...headers }, payload: smallConfig() });

  it('every read of the document or a part of it carries the revision as ETag', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/v1/config', headers: h.auth() })).headers.etag).toBe('"0"');
    expect((await put()).headers.etag).toBe('"1"');
    for (const url of ['/v1/config', '/v1/config?format=yaml', '/v1/zones', '/v1/interfaces/vpc0', rulesUrl, `${rulesUrl}/web`, '/v1/vpn/peers', '/v1/revisions/1']) {
      const response = await h.app.inject({ method: 'GET', url, headers: h.auth(h.reader) });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers.etag, url).toBe('"1"');
    }
  });

  it('a write with the current ETag goes through; one with a stale ETag is 412 and changes nothing', async () => {
    await put();
    const read = await h.app.inject({ method: 'GET', url: rulesUrl, headers: h.auth() });
    const etag = read.headers.etag as string;
    const ok = await h.app.inject({ method: 'POST', url: rulesUrl, headers: { ...h.auth(), 'if-match': etag }, payload: { id: 'dns', action: 'accept', services: ['udp/53'] } });
    expect(ok.statusCode).toBe(201);
    expect(ok.headers.etag).toBe('"2"');

    const commandsBefore = h.runner.commands.length;
    const stale = await h.app.inject({ method: 'POST', url: rulesUrl, headers: { ...h.auth(), 'if-match': etag }, payload: { id: 'ntp', action: 'accept', services: ['udp/123'] } });
    expect(stale.statusCode).toBe(412);
    expect(stale.json()).toEqual({
      error: 'revision_mismatch',
      message: expect.stringMatching(/the document is at revision 2, not revision 1 \(If-Match\).*read it again/),
      problems: [{ path: '(headers)/if-match', message: expect.any(String) }],
      request_id: expect.any(String),
      current_revision: 2,
    });
    expect(h.runner.commands.length).toBe(commandsBefore);
    expect(h.appliance.store.currentRevisionId()).toBe(2);
    for (const write of [
      { method: 'PUT' as const, url: '/v1/config', payload: smallConfig() },
      { method: 'PATCH' as const, url: '/v1/config', payload: { system: { hostname: 'x' } } },
      { method: 'DELETE' as const, url: `${rulesUrl}/web` },
      { method: 'PUT' as const, url: `${rulesUrl}/web`, payload: { id: 'web', action: 'drop' } },
      { method: 'POST' as const, url: '/v1/revisions/1/rollback' },
    ]) {
      const response = await h.app.inject({ ...write, headers: { ...h.auth(), 'if-match': '"1"' } });
      expect(response.statusCode, `${write.method} ${write.url}`).toBe(412);
    }
    expect(h.appliance.store.currentRevisionId()).toBe(2);
    expect(h.appliance.store.auditLog(100).filter((e) => e.action.startsWith('commit') || e.action.startsWith('rollback'))).toHaveLength(2);
  });

  it('of 8 parallel writes sent with the same ETag exactly one wins; the others get 412', async () => {
    await put();
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => h.app.inject({ method: 'POST', url: rulesUrl, headers: { ...h.auth(), 'if-match': '"1"' }, payload: { id: `r${i}`, action: 'accept' } })),
    );
    const codes = responses.map((r) => r.statusCode).sort();
    expect(codes).toEqual([201, 412, 412, 412, 412, 412, 412, 412]);
    const winner = responses.find((r) => r.statusCode === 201)!;
    const rules = json(await h.app.inject({ method: 'GET', url: rulesUrl, headers: h.auth() })).items.map((r: { id: string }) => r.id);
    expect(rules).toEqual(['web', json(winner).item.id]);
  });

  it('accepts a list of ETags and "*"; "*" needs a revision to exist; a malformed header is a 400', async () => {
    const none = await put({ 'if-match': '*' });
    expect(none.statusCode).toBe(412);
    expect(none.json().current_revision).toBeNull();
    expect((await put({ 'if-match': '"0"' })).statusCode).toBe(200);
    expect((await put({ 'if-match': '*' })).statusCode).toBe(200);
    expect((await put({ 'if-match': '"7", "2"' })).statusCode).toBe(200);
    for (const bad of ['3', 'W/"3"', '"abc"', '"3" junk']) {
      const response = await put({ 'if-match': bad });
      expect(response.statusCode, bad).toBe(400);
      expect(response.json().problems).toEqual([{ path: '(headers)/if-match', message: expect.stringMatching(/If-Match must be/) }]);
    }
    expect(h.appliance.store.currentRevisionId()).toBe(3);
  });

  it('a dry run answers with the ETag it planned on, so the real commit can insist on the same base', async () => {
    await put();
    const plan = await h.app.inject({ method: 'POST', url: `${rulesUrl}?dry_run=true`, headers: h.auth(), payload: { id: 'dns', action: 'accept' } });
    expect(plan.statusCode).toBe(200);
    expect(plan.headers.etag).toBe('"1"');
    const commit = await h.app.inject({ method: 'POST', url: rulesUrl, headers: { ...h.auth(), 'if-match': plan.headers.etag as string }, payload: { id: 'dns', action: 'accept' } });
    expect(commit.statusCode).toBe(201);
  });

  it('the OpenAPI document describes ETag and If-Match', async () => {
    const spec = json(await h.app.inject({ method: 'GET', url: '/docs/json' }));
    expect(spec.info.description).toMatch(/ETag: "<revision>"/);
    const post = spec.paths['/v1/firewall/policies/{policy}/rules'].post;
    expect(post.description).toMatch(/If-Match/);
    expect(post.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'if-match' })]));
    expect(post.responses['412']).toBeDefined();
    expect(spec.paths['/v1/config'].get.description).toMatch(/ETag/);
  });
});
