// Revisions: the list, structural diffs, and rollback as a new revision.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mutating, smallConfig, startHarness, type Harness } from './support/harness.js';

describe('/v1/revisions', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    // r1: the small config; r2: one rule added in the middle; r3: hostname set.
    expect((await h.app.inject({ method: 'PUT', url: '/v1/config?comment=first', headers: h.auth(), payload: smallConfig() })).statusCode).toBe(200);
    const doc = smallConfig();
    doc.firewall.policies[0].rules.push({ id: 'ssh', action: 'drop', services: ['tcp/22'] });
    doc.firewall.policies[0].rules.unshift({ id: 'ping', action: 'accept', services: ['icmp'] });
    expect((await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: doc })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'POST', url: '/v1/firewall/policies/a-to-b/rules?position=1', headers: h.auth(), payload: { id: 'dns', action: 'accept', services: ['udp/53'] } })).statusCode).toBe(201);
  });
  afterEach(() => h.close());

  const get = (url: string) => h.app.inject({ method: 'GET', url, headers: h.auth(h.reader) });

  it('lists revisions newest first with their parents', async () => {
    const response = await get('/v1/revisions');
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.current).toBe(3);
    expect(body.revisions.map((r: { id: number; parent: number | null }) => [r.id, r.parent])).toEqual([[3, 2], [2, 1], [1, null]]);
    expect(body.revisions[2]).toMatchObject({ comment: 'first', author: 'token:test-admin', source: 'api' });
    expect(body.revisions[0].document).toBeUndefined();
    expect((await get('/v1/revisions?limit=1')).json().revisions.map((r: { id: number }) => r.id)).toEqual([3]);
    expect((await get('/v1/revisions?before=3&limit=1')).json().revisions.map((r: { id: number }) => r.id)).toEqual([2]);
  });

  it('reads one revision with its document, and 404 for one that does not exist', async () => {
    const one = await get('/v1/revisions/1');
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ id: 1, parent: null, document: smallConfig() });
    const missing = await get('/v1/revisions/42');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: 'not_found', problems: [{ path: '/revisions/42' }] });
    expect((await get('/v1/revisions/zero')).statusCode).toBe(400);
  });

  it('a rule inserted in the middle diffs as one add, not as every later rule changed', async () => {
    const diff = (await get('/v1/revisions/3/diff')).json();
    expect(diff.from).toBe(2);
    expect(diff.to).toBe(3);
    expect(diff.changes).toEqual([
      { op: 'add', path: '/firewall/policies/0/rules/1', after: { id: 'dns', action: 'accept', services: ['udp/53'] } },
    ]);
  });

  it('diffs against any revision with ?against=', async () => {
    const diff = (await get('/v1/revisions/3/diff?against=1')).json();
    expect(diff.from).toBe(1);
    expect(diff.changes.map((c: { op: string; path: string }) => `${c.op} ${c.path}`).sort()).toEqual([
      'add /firewall/policies/0/rules/0',
      'add /firewall/policies/0/rules/1',
      'add /firewall/policies/0/rules/3',
    ]);
    const reverse = (await get('/v1/revisions/1/diff?against=3')).json();
    expect(reverse.changes.every((c: { op: string }) => c.op === 'remove')).toBe(true);
    expect(reverse.changes).toHaveLength(3);
  });

  it('the first revision diffs against the empty document', async () => {
    const diff = (await get('/v1/revisions/1/diff')).json();
    expect(diff.from).toBeNull();
    expect(diff.changes.map((c: { path: string }) => c.path).sort()).toEqual(['/firewall', '/interfaces', '/routes', '/zones']);
  });

  it('rollback makes a new revision with the old document and puts the kernel back', async () => {
    const from = h.runner.commands.length;
    const response = await h.app.inject({ method: 'POST', url: '/v1/revisions/1/rollback', headers: h.auth() });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.revision).toMatchObject({ id: 4, parent: 3, source: 'rollback', comment: 'rollback to revision 1' });
    // the ping, dns and ssh rules' elements go (icmp, udp/53, tcp/22), and the ssh rule's own run
    const removed = body.plan.subsystems.find((s: { subsystem: string }) => s.subsystem === 'firewall').remove as string[];
    for (const element of [/^element \S+ .*,1,\{"range":\[0,65535\]\}\]\}$/, /^element \S+ .*[[,]17,53\]\}$/, /^element \S+ .*[[,]6,22\]\}$/]) {
      expect(removed).toContainEqual(expect.stringMatching(element));
    }
    expect(removed).toContainEqual(expect.stringMatching(/^rule pol_a-to-b "ssh" /));
    expect(mutating(h.transcriptSince(from)).filter((l) => l.startsWith('nft -j -f'))).toHaveLength(1);
    const current = (await get('/v1/revisions/4')).json();
    expect(current.document).toEqual(smallConfig());
    expect((await get('/v1/config')).json()).toEqual(smallConfig());
    const comments = (h.kernel.table ?? []).filter((o) => 'rule' in o).map((o) => (o as { rule: { comment?: string } }).rule.comment);
    expect(comments).toContain('web');
    expect(comments).not.toContain('dns');
    // The history is kept: revision 3 still holds the rules.
    expect((await get('/v1/revisions/3')).json().document.firewall.policies[0].rules).toHaveLength(4);
    expect((await get('/v1/revisions/4/diff?against=1')).json().changes).toEqual([]);
  });

  it('rollback to a revision that does not exist is a 404 and changes nothing', async () => {
    const from = h.runner.commands.length;
    const response = await h.app.inject({ method: 'POST', url: '/v1/revisions/9/rollback', headers: h.auth() });
    expect(response.statusCode).toBe(404);
    expect(h.transcriptSince(from)).toEqual([]);
    expect(h.appliance.store.currentRevisionId()).toBe(3);
  });

  it('the audit log records each commit', async () => {
    const entries = (await get('/v1/audit')).json().entries;
    expect(entries.filter((e: { action: string }) => e.action === 'commit (api)').map((e: { revision: number }) => e.revision)).toEqual([3, 2, 1]);
  });
});
