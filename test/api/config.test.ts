// PUT/GET/PATCH of the whole document, dry runs, rejected documents (with
// the path of each problem) and idempotent re-application, read off the
// fake kernel's transcript.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEMO_YAML, mutating, smallConfig, startHarness, type Harness } from './support/harness.js';

const demo = () => parseYaml(DEMO_YAML) as Record<string, any>;

describe('/v1/config', () => {
  let h: Harness;
  beforeEach(async () => { h = await startHarness(); });
  afterEach(() => h.close());

  const put = (payload: unknown, query = '', type = 'application/json') =>
    h.app.inject({ method: 'PUT', url: `/v1/config${query}`, headers: { ...h.auth(), 'content-type': type }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });

  it('accepts the demo document as YAML: revision 1, a plan, and the kernel configured', async () => {
    const response = await put(DEMO_YAML, '?comment=demo', 'application/yaml');
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ dry_run: false, changed: true, revision: { id: 1, parent: null, author: 'token:test-admin', comment: 'demo', source: 'api' } });
    const plan = Object.fromEntries(body.plan.subsystems.map((s: { subsystem: string }) => [s.subsystem, s]));
    expect(Object.keys(plan)).toEqual(['system', 'links', 'routes', 'vpn', 'bgp', 'dhcp', 'firewall']);
    // applied or, where Junction shares the machine's UTS namespace, said not to be
    expect(plan.system.add).toEqual([expect.stringMatching(/^hostname junction-lab( \(not applied: .*\))?$/)]);
    expect(plan.links.add).toContain('address 10.1.0.1/24 on vpc0');
    expect(plan.routes.add).toEqual(['route 0.0.0.0/0 via 100.64.0.1 metric 0 proto 77']);
    expect(plan.firewall.add).toContainEqual(expect.stringMatching(/^rule pol_\S+ "a-to-db" /));
    expect(body.actions.links).toContain('ip addr add 100.64.0.2/24 dev ccnn0');
    expect(body.actions.routes).toEqual(['ip -4 route replace 0.0.0.0/0 via 100.64.0.1 metric 0 proto 77']);
    expect(body.actions.firewall).toHaveLength(1);
    // One transaction, no separate check pass: a failed batch changes nothing.
    const nft = h.runner.transcript().filter((l) => / -f /.test(l) && l.startsWith('nft '));
    expect(nft.map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual(['nft -j -f']);
    expect(body.actions.firewall[0]).toMatch(/whole table \(no table yet\)/);
    // where the time went: every subsystem's apply, in apply order, and the stages around it
    expect(Object.keys(body.timings.apply_ms)).toEqual(['system', 'links', 'routes', 'vpn', 'bgp', 'dhcp', 'firewall']);
    for (const ms of [body.timings.prepare_ms, body.timings.plan_ms, body.timings.store_ms, ...Object.values(body.timings.apply_ms)]) expect(ms).toBeGreaterThanOrEqual(0);
    expect(h.kernel.addresses('vpc1')).toEqual(['10.2.0.1/24']);
    expect(h.kernel.sysctls.get('net.ipv4.ip_forward')).toBe('1');
    expect(h.appliance.store.currentRevisionId()).toBe(1);
  });

  it('accepts the demo document as JSON', async () => {
    const response = await put(demo());
    expect(response.statusCode).toBe(200);
    expect(response.json().revision.id).toBe(1);
    expect(response.json().plan.changed).toBe(true);
  });

  it('GET returns the document as JSON and as YAML', async () => {
    await put(DEMO_YAML, '', 'application/yaml');
    const asJson = await h.app.inject({ method: 'GET', url: '/v1/config', headers: h.auth(h.reader) });
    expect(asJson.statusCode).toBe(200);
    expect(asJson.json()).toEqual(demo());
    const asYaml = await h.app.inject({ method: 'GET', url: '/v1/config', headers: { ...h.auth(h.reader), accept: 'application/yaml' } });
    expect(asYaml.headers['content-type']).toMatch(/^application\/yaml/);
    expect(parseYaml(asYaml.body)).toEqual(demo());
    const byQuery = await h.app.inject({ method: 'GET', url: '/v1/config?format=yaml', headers: h.auth(h.reader) });
    expect(parseYaml(byQuery.body)).toEqual(demo());
  });

  it('before any commit, GET returns the empty document', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/v1/config', headers: h.auth() });
    expect(response.json()).toEqual({ interfaces: [], zones: [] });
  });

  it('dry_run returns the plan, creates no revision and changes nothing', async () => {
    const response = await put(DEMO_YAML, '?dry_run=true', 'application/yaml');
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.dry_run).toBe(true);
    expect(body.changed).toBe(true);
    expect(body.revision).toBeUndefined();
    expect(body.actions).toBeUndefined();
    expect(body.timings).toMatchObject({ apply_ms: {}, store_ms: 0 });
    expect(body.plan.subsystems.find((s: { subsystem: string }) => s.subsystem === 'links').add).toContain('address 10.2.0.1/24 on vpc1');
    const transcript = h.runner.transcript();
    expect(transcript.length).toBeGreaterThan(0); // it did look at the system (check)
    expect(transcript.some((l) => l.startsWith('nft -j -f'))).toBe(false);
    expect(transcript.some((l) => l.startsWith('ip addr add'))).toBe(false);
    expect(mutating(transcript)).toEqual([]);
    expect(h.appliance.store.currentRevisionId()).toBeNull();
    expect((await h.app.inject({ method: 'GET', url: '/v1/revisions', headers: h.auth() })).json().revisions).toEqual([]);
  });

  it('a malformed YAML body is a 400', async () => {
    const response = await put('interfaces: [\n  - {name: ', '', 'application/yaml');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_yaml', problems: [{ path: '/' }] });
    expect(h.runner.transcript()).toEqual([]);
  });

  describe('rejected documents change nothing and name the path', () => {
    type Case = { name: string; edit: (doc: Record<string, any>) => void; status: number; error: string; path: string; message: RegExp };
    const cases: Case[] = [
      {
        name: 'dangling object reference in a rule',
        edit: (d) => { d.firewall.policies[0].rules[0].destination = ['no-such-servers']; },
        status: 422, error: 'config_verify_failed', path: '/firewall/policies/0/rules/0/destination/0', message: /unknown address object "no-such-servers"/,
      },
      {
        name: 'overlapping subnets on two interfaces',
        edit: (d) => { d.interfaces[2].addresses = ['10.1.0.129/25']; },
        status: 422, error: 'config_verify_failed', path: '/interfaces/2/addresses/0', message: /overlaps the subnet at \/interfaces\/1\/addresses\/0 on vpc0/,
      },
      {
        name: 'bad CIDR',
        edit: (d) => { d.interfaces[1].addresses = ['10.1.0.300/24']; },
        status: 422, error: 'config_verify_failed', path: '/interfaces/1/addresses/0', message: /not an address with a prefix length/,
      },
      {
        name: 'unknown zone on an interface',
        edit: (d) => { d.interfaces[1].zone = 'vpc-z'; },
        status: 422, error: 'config_verify_failed', path: '/interfaces/1/zone', message: /unknown zone "vpc-z"/,
      },
      {
        name: 'wrong type',
        edit: (d) => { d.interfaces[1].mtu = 'big'; },
        status: 400, error: 'config_validate_failed', path: '/interfaces/1/mtu', message: /integer/i,
      },
      {
        name: 'unknown field',
        edit: (d) => { d.interfaces[0].colour = 'blue'; },
        status: 400, error: 'config_validate_failed', path: '/interfaces/0/colour', message: /unexpected property/i,
      },
      {
        name: 'duplicate rule id',
        edit: (d) => { d.firewall.policies[0].rules.push({ id: 'a-to-db', action: 'drop' }); },
        status: 422, error: 'config_verify_failed', path: '/firewall/policies/0/rules/1/id', message: /a-to-db/,
      },
    ];

    for (const c of cases) {
      it(c.name, async () => {
        const first = await put(demo());
        expect(first.statusCode).toBe(200);
        const kernelBefore = JSON.stringify([[...h.kernel.links.values()], h.kernel.routes, h.kernel.table]);
        const from = h.runner.commands.length;
        const doc = demo();
        c.edit(doc);
        const response = await put(doc);
        expect(response.statusCode).toBe(c.status);
        const body = response.json();
        expect(body.error).toBe(c.error);
        const problem = body.problems.find((p: { path: string }) => p.path === c.path);
        expect(problem, JSON.stringify(body.problems)).toBeDefined();
        expect(problem.message).toMatch(c.message);
        expect(mutating(h.transcriptSince(from))).toEqual([]);
        expect(JSON.stringify([[...h.kernel.links.values()], h.kernel.routes, h.kernel.table])).toBe(kernelBefore);
        expect(h.appliance.store.currentRevisionId()).toBe(1);
        expect((await h.app.inject({ method: 'GET', url: '/v1/config', headers: h.auth() })).json()).toEqual(demo());
        const audit = (await h.app.inject({ method: 'GET', url: '/v1/audit', headers: h.auth() })).json().entries;
        expect(audit[0]).toMatchObject({ outcome: 'ok', revision: 1 });
      });
    }

    it('a check against the live system: an interface the box does not have', async () => {
      const doc = smallConfig();
      doc.interfaces.push({ name: 'vpc9', role: 'vpc', zone: 'vpc-b', addresses: ['10.9.0.1/24'] });
      const response = await put(doc);
      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({ error: 'config_check_failed', problems: [{ path: '/interfaces/3/name', message: expect.stringMatching(/no interface "vpc9".*found: ccnn0, vpc0, vpc1/) }] });
      expect(mutating(h.runner.transcript())).toEqual([]);
      expect(h.appliance.store.currentRevisionId()).toBeNull();
    });
  });

  it('PATCH applies a JSON merge patch to the running document', async () => {
    await put(demo());
    const response = await h.app.inject({
      method: 'PATCH', url: '/v1/config', headers: h.auth(),
      payload: { system: { hostname: 'edge-1', reconcile_interval_s: null }, routes: { static: [{ id: 'default', destination: '0.0.0.0/0', via: '100.64.0.254' }] } },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().revision).toMatchObject({ id: 2, parent: 1 });
    expect(response.json().actions.routes).toEqual(['ip -4 route replace 0.0.0.0/0 via 100.64.0.254 metric 0 proto 77']);
    expect(response.json().actions.links).toEqual([]);
    const doc = (await h.app.inject({ method: 'GET', url: '/v1/config', headers: h.auth() })).json();
    expect(doc.system).toEqual({ hostname: 'edge-1' });
    expect(doc.routes.static).toEqual([{ id: 'default', destination: '0.0.0.0/0', via: '100.64.0.254' }]);
    expect(doc.interfaces).toEqual(demo().interfaces); // untouched by the patch
  });

  it('PATCH that breaks the document is rejected like a PUT', async () => {
    await put(demo());
    const response = await h.app.inject({ method: 'PATCH', url: '/v1/config', headers: h.auth(), payload: { zones: null } });
    expect(response.statusCode).toBe(400);
    expect(response.json().problems).toContainEqual(expect.objectContaining({ path: '/zones' }));
    expect(h.appliance.store.currentRevisionId()).toBe(1);
  });

  it('secrets in a stored document never leave the API in clear', async () => {
    // The schema has no secret fields yet (VPN/BGP will add them), so store
    // such a revision directly and read it back through every view.
    const doc = { ...smallConfig(), interfaces: smallConfig().interfaces.map((i: object) => ({ ...i, psk: 'hunter2-psk' })) };
    h.appliance.store.commitRevision(doc as never, { author: 'test', comment: '', source: 'api' });
    for (const url of ['/v1/config', '/v1/config?format=yaml', '/v1/revisions/1', '/v1/revisions/1/diff', '/v1/revisions/1?format=yaml', '/v1/interfaces', '/v1/interfaces/vpc0']) {
      const response = await h.app.inject({ method: 'GET', url, headers: h.auth() });
      expect(response.statusCode, url).toBe(200);
      expect(response.body, url).not.toContain('hunter2');
      expect(response.body, url).toContain('********');
    }
  });

  it('PUT of the same document again is idempotent: a new revision, no changes, no commands that change anything', async () => {
    const first = await put(DEMO_YAML, '', 'application/yaml');
    expect(first.statusCode).toBe(200);
    expect(mutating(h.runner.transcript()).length).toBeGreaterThan(0);
    const from = h.runner.commands.length;
    const second = await put(DEMO_YAML, '', 'application/yaml');
    expect(second.statusCode).toBe(200);
    const body = second.json();
    expect(body.revision).toMatchObject({ id: 2, parent: 1 });
    expect(body.changed).toBe(false);
    expect(body.actions).toEqual({ system: [], links: [], routes: [], vpn: [], bgp: [], dhcp: [], firewall: [] });
    for (const s of body.plan.subsystems) expect(s).toMatchObject({ add: [], remove: [], reordered: false });
    const transcript = h.transcriptSince(from);
    expect(mutating(transcript)).toEqual([]);
    // Every artifact equals the running one, so no subsystem applied anything, nor listed the
    // table to find that out (the reconcile loop compares the kernel), nor checked whether it could
    // (the links' sysctls). What ran is the commit's own reading of the interfaces (to select them)
    // and of the firewall's chains, started before the commit knew nothing would change (prefetch).
    expect(transcript.filter((c) => c.startsWith('nft '))).toEqual(['nft -j list chains inet']);
    expect(transcript.filter((c) => c.startsWith('sysctl'))).toEqual([]);
  });
});
