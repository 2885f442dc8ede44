// The per-resource endpoints are edits of the one document: rules in a
// policy (ordered), port forwards and static routes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mutating, smallConfig, startHarness, type Harness } from './support/harness.js';

describe('resource collections', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    const seeded = await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: smallConfig() });
    expect(seeded.statusCode).toBe(200);
  });
  afterEach(() => h.close());

  const rulesUrl = '/v1/firewall/policies/a-to-b/rules';
  const ruleIds = async () => (await h.app.inject({ method: 'GET', url: rulesUrl, headers: h.auth(h.reader) })).json().items.map((r: { id: string }) => r.id);
  const post = (url: string, payload: unknown) => h.app.inject({ method: 'POST', url, headers: h.auth(), payload: payload as object });

  describe('/v1/firewall/policies/:policy/rules', () => {
    it('lists and reads rules', async () => {
      expect(await ruleIds()).toEqual(['web']);
      const one = await h.app.inject({ method: 'GET', url: `${rulesUrl}/web`, headers: h.auth(h.reader) });
      expect(one.statusCode).toBe(200);
      expect(one.json()).toEqual({ id: 'web', action: 'accept', services: ['tcp/443'] });
      const missing = await h.app.inject({ method: 'GET', url: `${rulesUrl}/nope`, headers: h.auth(h.reader) });
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toMatchObject({ error: 'not_found', problems: [{ path: '/firewall/policies/0/rules' }] });
    });

    it('creates a rule at the end, then at ?position=, in that order', async () => {
      const appended = await post(rulesUrl, { id: 'ssh', action: 'drop', services: ['tcp/22'] });
      expect(appended.statusCode).toBe(201);
      expect(appended.json()).toMatchObject({ revision: { id: 2 }, item: { id: 'ssh' }, changed: true });
      expect(appended.json().plan.subsystems.find((s: { subsystem: string }) => s.subsystem === 'firewall').add).toContainEqual(expect.stringMatching(/^rule pol_\S+ "ssh" /));
      expect(await ruleIds()).toEqual(['web', 'ssh']);

      const first = await h.app.inject({ method: 'POST', url: `${rulesUrl}?position=0`, headers: h.auth(), payload: { id: 'ping', action: 'accept', services: ['icmp'] } });
      expect(first.statusCode).toBe(201);
      expect(await ruleIds()).toEqual(['ping', 'web', 'ssh']);

      const middle = await h.app.inject({ method: 'POST', url: `${rulesUrl}?position=2`, headers: h.auth(), payload: { id: 'dns', action: 'accept', services: ['udp/53'] } });
      expect(middle.statusCode).toBe(201);
      expect(await ruleIds()).toEqual(['ping', 'web', 'dns', 'ssh']);

      // Past the end means append.
      const far = await h.app.inject({ method: 'POST', url: `${rulesUrl}?position=99`, headers: h.auth(), payload: { id: 'last', action: 'reject' } });
      expect(far.statusCode).toBe(201);
      expect(await ruleIds()).toEqual(['ping', 'web', 'dns', 'ssh', 'last']);
      expect(h.appliance.store.currentRevisionId()).toBe(5);
    });

    it('the kernel listing follows the rule order', async () => {
      await h.app.inject({ method: 'POST', url: `${rulesUrl}?position=0`, headers: h.auth(), payload: { id: 'deny-all', action: 'drop' } });
      const chain = (h.kernel.table ?? [])
        .filter((o) => 'rule' in o && (o as { rule: { chain: string } }).rule.chain === 'pol_a-to-b')
        .map((o) => (o as { rule: { comment?: string } }).rule.comment);
      expect(chain.indexOf('deny-all')).toBeGreaterThanOrEqual(0);
      expect(chain.indexOf('deny-all')).toBeLessThan(chain.indexOf('web'));
    });

    it('a bad ?position= is a 400 and commits nothing', async () => {
      const response = await h.app.inject({ method: 'POST', url: `${rulesUrl}?position=-1`, headers: h.auth(), payload: { id: 'x', action: 'drop' } });
      expect(response.statusCode).toBe(400);
      expect(response.json().problems[0].path).toBe('(querystring)/position');
      expect(h.appliance.store.currentRevisionId()).toBe(1);
    });

    it('404 for an unknown policy, on every verb', async () => {
      const url = '/v1/firewall/policies/nope/rules';
      for (const [method, path, payload] of [
        ['GET', url, undefined], ['GET', `${url}/web`, undefined], ['POST', url, { id: 'x', action: 'drop' }],
        ['PUT', `${url}/web`, { id: 'web', action: 'drop' }], ['DELETE', `${url}/web`, undefined],
      ] as const) {
        const response = await h.app.inject({ method, url: path, headers: h.auth(), payload });
        expect(response.statusCode, `${method} ${path}`).toBe(404);
        expect(response.json()).toMatchObject({ error: 'not_found', message: 'no firewall policy "nope"' });
      }
      expect(h.appliance.store.currentRevisionId()).toBe(1);
    });

    it('409 for a duplicate id', async () => {
      const from = h.runner.commands.length;
      const response = await post(rulesUrl, { id: 'web', action: 'drop' });
      expect(response.statusCode).toBe(409);
      expect(response.json()).toMatchObject({ error: 'conflict', message: 'rule "web" already exists', problems: [{ path: '/firewall/policies/0/rules' }] });
      expect(mutating(h.transcriptSince(from))).toEqual([]);
      expect(await ruleIds()).toEqual(['web']);
    });

    it('a body that fails validation names its place in the document', async () => {
      const response = await post(rulesUrl, { id: 'ssh', action: 'allow' });
      expect(response.statusCode).toBe(400);
      const body = response.json();
      expect(body.error).toBe('invalid_request');
      expect(body.problems[0].path).toBe('/firewall/policies/0/rules/1/action');
      expect(body.message).toMatch(/^\/firewall\/policies\/0\/rules\/1\/action: /);

      const missing = await post(rulesUrl, { action: 'drop' });
      expect(missing.json().problems.map((p: { path: string }) => p.path)).toContain('/firewall/policies/0/rules/1/id');

      const extra = await h.app.inject({ method: 'PUT', url: `${rulesUrl}/web`, headers: h.auth(), payload: { id: 'web', action: 'drop', colour: 'red' } });
      expect(extra.statusCode).toBe(400);
      expect(extra.json().problems.map((p: { path: string }) => p.path)).toContain('/firewall/policies/0/rules/0/colour');
      expect(h.appliance.store.currentRevisionId()).toBe(1);
    });

    it('a rule that fails verify is a 422 with the document path', async () => {
      const response = await post(rulesUrl, { id: 'to-ghost', action: 'accept', destination: ['ghost-servers'] });
      expect(response.statusCode).toBe(422);
      expect(response.json().problems).toContainEqual({ path: '/firewall/policies/0/rules/1/destination/0', message: 'unknown address object "ghost-servers"' });
      expect(await ruleIds()).toEqual(['web']);
    });

    it('PUT replaces a rule; the id in the body must match the URL', async () => {
      const replaced = await h.app.inject({ method: 'PUT', url: `${rulesUrl}/web`, headers: h.auth(), payload: { id: 'web', action: 'reject', services: ['tcp/443', 'tcp/80'] } });
      expect(replaced.statusCode).toBe(200);
      expect(replaced.json().revision.id).toBe(2);
      expect((await h.app.inject({ method: 'GET', url: `${rulesUrl}/web`, headers: h.auth() })).json()).toEqual({ id: 'web', action: 'reject', services: ['tcp/443', 'tcp/80'] });

      const mismatch = await h.app.inject({ method: 'PUT', url: `${rulesUrl}/web`, headers: h.auth(), payload: { id: 'other', action: 'drop' } });
      expect(mismatch.statusCode).toBe(400);
      expect(mismatch.json()).toMatchObject({ error: 'invalid_request', problems: [{ path: '/firewall/policies/0/rules/0/id' }] });
      expect(mismatch.json().message).toContain('"other"');
      expect(h.appliance.store.currentRevisionId()).toBe(2);

      const unknown = await h.app.inject({ method: 'PUT', url: `${rulesUrl}/nope`, headers: h.auth(), payload: { id: 'nope', action: 'drop' } });
      expect(unknown.statusCode).toBe(404);
    });

    it('DELETE removes a rule, and a second DELETE is a 404', async () => {
      await post(rulesUrl, { id: 'ssh', action: 'drop', services: ['tcp/22'] });
      const deleted = await h.app.inject({ method: 'DELETE', url: `${rulesUrl}/web`, headers: h.auth() });
      expect(deleted.statusCode).toBe(200);
      expect(deleted.json().plan.subsystems.find((s: { subsystem: string }) => s.subsystem === 'firewall').remove).toContainEqual(expect.stringMatching(/^rule pol_\S+ "web" /));
      expect(await ruleIds()).toEqual(['ssh']);
      const again = await h.app.inject({ method: 'DELETE', url: `${rulesUrl}/web`, headers: h.auth() });
      expect(again.statusCode).toBe(404);
    });

    it('?dry_run=true on a create shows the plan and keeps the rule out', async () => {
      const from = h.runner.commands.length;
      const response = await h.app.inject({ method: 'POST', url: `${rulesUrl}?dry_run=true`, headers: h.auth(), payload: { id: 'ssh', action: 'drop' } });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ dry_run: true, changed: true });
      expect(mutating(h.transcriptSince(from))).toEqual([]);
      expect(await ruleIds()).toEqual(['web']);
    });
  });

  describe('/v1/nat/port-forwards', () => {
    const url = '/v1/nat/port-forwards';
    const forward = { id: 'web-in', interface: 'ccnn0', protocol: 'tcp', port: 8080, to_address: '10.1.0.11', to_port: 80 };

    it('creates the first port forward (and the nat section) and deletes it', async () => {
      const created = await post(url, forward);
      expect(created.statusCode).toBe(201);
      expect(created.json().plan.subsystems.find((s: { subsystem: string }) => s.subsystem === 'firewall').add.some((l: string) => l.startsWith('rule nat_prerouting "web-in"'))).toBe(true);
      const listed = await h.app.inject({ method: 'GET', url, headers: h.auth() });
      expect(listed.json().items).toEqual([forward]);
      expect((await h.app.inject({ method: 'GET', url: '/v1/config', headers: h.auth() })).json().nat).toEqual({ port_forwards: [forward] });

      const deleted = await h.app.inject({ method: 'DELETE', url: `${url}/web-in`, headers: h.auth() });
      expect(deleted.statusCode).toBe(200);
      expect((await h.app.inject({ method: 'GET', url, headers: h.auth() })).json().items).toEqual([]);
      expect(h.appliance.store.currentRevisionId()).toBe(3);
    });

    it('a forward to an address outside every VPC is a 422 at its path', async () => {
      const response = await post(url, { ...forward, to_address: '192.0.2.7' });
      expect(response.statusCode).toBe(422);
      expect(response.json().problems).toContainEqual(expect.objectContaining({ path: '/nat/port_forwards/0/to_address' }));
    });

    it('a body error is reported at /nat/port_forwards/<index>', async () => {
      const response = await post(url, { ...forward, protocol: 'sctp' });
      expect(response.statusCode).toBe(400);
      expect(response.json().problems[0].path).toBe('/nat/port_forwards/0/protocol');
    });
  });

  describe('/v1/routes/static', () => {
    const url = '/v1/routes/static';

    it('creates a route (ip route replace) and deletes it (ip route del)', async () => {
      let from = h.runner.commands.length;
      const created = await post(url, { id: 'onprem', destination: '192.168.0.0/16', via: '10.2.0.254' });
      expect(created.statusCode).toBe(201);
      expect(created.json().actions.routes).toEqual(['ip -4 route replace 192.168.0.0/16 via 10.2.0.254 metric 0 proto 77']);
      expect(mutating(h.transcriptSince(from))).toEqual(['ip -4 route replace 192.168.0.0/16 via 10.2.0.254 metric 0 proto 77']);
      expect(h.kernel.routes[4].map((r) => r.dst)).toEqual(['default', '192.168.0.0/16']);

      from = h.runner.commands.length;
      const deleted = await h.app.inject({ method: 'DELETE', url: `${url}/onprem`, headers: h.auth() });
      expect(deleted.statusCode).toBe(200);
      expect(mutating(h.transcriptSince(from))).toEqual(['ip -4 route del 192.168.0.0/16 metric 0 proto 77']);
      expect(h.kernel.routes[4].map((r) => r.dst)).toEqual(['default']);
    });

    it('a route with host bits set is a 422 at its destination', async () => {
      const response = await post(url, { id: 'sloppy', destination: '192.168.1.1/16', via: '10.2.0.254' });
      expect(response.statusCode).toBe(422);
      expect(response.json().problems).toContainEqual(expect.objectContaining({ path: '/routes/static/1/destination' }));
    });

    it('409 for an id that is already used', async () => {
      const response = await post(url, { id: 'default', destination: '192.168.0.0/16', via: '10.2.0.254' });
      expect(response.statusCode).toBe(409);
    });
  });
});
