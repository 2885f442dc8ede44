// /v1/bgp through app.inject, with a fake bird: the BGP driver's commands to
// BIRD (configure with timeout, confirm, restart, reload) and the API's
// validation, masking and errors. No daemon is started and nothing leaves
// the process.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../api/server.js';
import { BgpSubsystem, type BirdDaemon } from '../../appliance/subsystems/bgp/index.js';
import { parseReplies, type BirdReply } from '../../appliance/subsystems/bgp/reply-codes.js';
import { RecordingCommandRunner } from '../support/recording-runner.js';
import { memoryLogger } from '../support/memory-logger.js';
import { showProtocolsFor } from '../support/fake-bird.js';
import { NO_CAPABILITIES } from '../../appliance/platform/capabilities.js';
import { Reconciler } from '../../appliance/core/reconciler.js';
import { StatusService } from '../../appliance/core/status.js';
import { Store } from '../../appliance/core/store.js';

const reply = (text: string): BirdReply => parseReplies(text)[0];
const fixture = (name: string) => readFileSync(new URL(`../unit/bgp/fixtures/${name}`, import.meta.url), 'utf8');

const document = (neighbors: unknown[] = []) => ({
  interfaces: [
    { name: 'vpc0', role: 'vpc', zone: 'vpc-a', addresses: ['10.1.0.1/24'] },
    { name: 'dx0', role: 'dx', zone: 'dx', addresses: ['169.254.10.1/30'] },
  ],
  zones: [{ name: 'vpc-a' }, { name: 'dx' }],
  bgp: { asn: 64512, router_id: '169.254.10.1', neighbors },
});
const dx1 = { id: 'dx-1', address: '169.254.10.2', remote_asn: 65000, interface: 'dx0', password: 'pw-1' };

describe('/v1/bgp', () => {
  let stateDir: string;
  let store: Store;
  let app: FastifyInstance;
  let sent: string[];
  let started: number;
  const auth = { authorization: '' };

  beforeEach(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'junction-bgp-api-'));
    store = new Store(stateDir);
    sent = [];
    started = 0;
    const log = memoryLogger();
    // `bird -p` succeeds; sysctl remembers what was written
    const sysctls = new Map<string, string>();
    const runner = new RecordingCommandRunner().on((c) => c.program === 'sysctl', (c) => {
      if (c.args[0] === '-n') return { stdout: `${sysctls.get(c.args[1]) ?? '0'}\n` };
      const [key, value] = c.args[2].split('=');
      sysctls.set(key, value);
      return {};
    });
    const fakeBird: BirdDaemon = { pid: 4242, restarts: 0, origin: undefined, adopt: async () => undefined, start: async () => { started++; return 4242; }, stop: async () => undefined, detach: () => undefined, recentLog: () => [] };
    const bgp = new BgpSubsystem({
      runner, stateDir, log,
      launchBird: () => fakeBird,
      control: {
        command: async (command) => {
          sent.push(command);
          if (command.startsWith('configure')) return reply(command.includes('timeout') ? '0020-Configuration OK\n0022 Undo scheduled in 5 s\n' : '0003 Reconfigured\n');
          if (command.startsWith('restart')) return reply('0012 bgp_dx-1: restarted\n');
          if (command.startsWith('reload')) return reply('0015 bgp_dx-1: reloading\n');
          if (command.startsWith('show protocols all')) return reply(fixture('show-protocols-all.raw'));
          if (command === 'show protocols') return reply(showProtocolsFor(readFileSync(join(stateDir, 'bird', 'bird.conf'), 'utf8')));
          if (command.startsWith('show route')) return reply(fixture('show-route-all.raw'));
          return reply('0000 \n');
        },
      },
    });
    const reconciler = new Reconciler(store, [bgp], NO_CAPABILITIES, log);
    const status = new StatusService([bgp], () => ({ config: reconciler.currentConfig(), revision: store.currentRevisionId(), capabilities: NO_CAPABILITIES }));
    app = await buildServer({ reconciler, store, status, bgp });
    await app.ready();
    auth.authorization = `Bearer ${store.createToken('admin', 'admin').token}`;
  });

  afterEach(async () => {
    await app.close();
    store.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const call = (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
    app.inject({ method, url, headers: auth, ...(payload !== undefined ? { payload: payload as object } : {}) });

  it('needs the section before neighbors, then starts bird once and reconfigures it on change', async () => {
    expect((await call('PUT', '/v1/config', { ...document(), bgp: undefined })).statusCode).toBe(200);
    expect((await call('GET', '/v1/bgp')).statusCode).toBe(404);
    const early = await call('POST', '/v1/bgp/neighbors', dx1);
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({ error: 'bgp_not_configured' });

    const put = await call('PUT', '/v1/bgp', { asn: 64512, router_id: '169.254.10.1' });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json().actions.bgp).toEqual(['start bird (pid 4242)', 'sysctl net.ipv4.fib_multipath_hash_policy=1']);
    expect(started).toBe(1);

    const created = await call('POST', '/v1/bgp/neighbors', dx1);
    expect(created.statusCode, created.body).toBe(201);
    expect(created.body).not.toContain('pw-1');
    expect(sent.filter((c) => c.startsWith('configure'))).toEqual([`configure "${join(stateDir, 'bird', 'bird.conf')}"`]);
    expect(readFileSync(join(stateDir, 'bird', 'bird.conf'), 'utf8')).toContain('password "pw-1";');
    expect((await call('GET', '/v1/bgp/neighbors/dx-1')).json().password).toBe('********');
    expect((await call('GET', '/v1/bgp')).json()).toMatchObject({ asn: 64512, neighbors: [{ id: 'dx-1', password: '********' }] });

    // the same again: no configure
    const again = await call('PUT', '/v1/bgp/neighbors/dx-1', { ...dx1, password: '********' });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().actions.bgp).toEqual([]);
    expect(sent.filter((c) => c.startsWith('configure'))).toHaveLength(1);
    expect(started).toBe(1);
  });

  it('uses configure ... timeout inside a commit-confirm and configure confirm when confirmed', async () => {
    expect((await call('PUT', '/v1/config', document([dx1]))).statusCode).toBe(200);
    const trial = await call('PUT', '/v1/bgp/neighbors/dx-1?confirm_timeout=5', { ...dx1, hold_time: 30 });
    expect(trial.statusCode, trial.body).toBe(200);
    expect(trial.json().actions.bgp[0]).toMatch(/configure timeout 5: Configuration OK; Undo scheduled in 5 s/);
    expect(sent.at(-1)).toMatch(/^configure ".*bird\.conf" timeout 5$/);
    expect((await call('POST', '/v1/commit/confirm')).statusCode).toBe(200);
    expect(sent.at(-1)).toBe('configure confirm');
  });

  it('rejects bad input with the path and leaves bird alone', async () => {
    expect((await call('PUT', '/v1/config', document([dx1]))).statusCode).toBe(200);
    const before = sent.length;
    const badAsn = await call('PUT', '/v1/bgp', { asn: 0, router_id: '169.254.10.1' });
    expect(badAsn.statusCode).toBe(400);
    expect(badAsn.json().problems.map((p: { path: string }) => p.path)).toContain('/bgp/asn');
    const offLink = await call('POST', '/v1/bgp/neighbors', { id: 'far', address: '10.9.9.9', remote_asn: 65001 });
    expect(offLink.statusCode).toBe(422);
    expect(offLink.json().problems).toEqual([expect.objectContaining({ path: '/bgp/neighbors/1/address' })]);
    const badPrefix = await call('POST', '/v1/bgp/neighbors', { ...dx1, id: 'dx-9', import: { prefixes: [{ prefix: '10.0.0.0/8', ge: 4 }] } });
    expect(badPrefix.statusCode).toBe(422);
    expect(badPrefix.json().problems[0].path).toBe('/bgp/neighbors/1/import/prefixes/0');
    expect(sent.length).toBe(before);
  });

  it('resets, soft-resets, lists routes and reports status', async () => {
    expect((await call('PUT', '/v1/config', document([dx1]))).statusCode).toBe(200);
    expect((await call('POST', '/v1/bgp/neighbors/dx-1/reset')).json()).toMatchObject({ id: 'dx-1', reset: 'hard', bird: 'bgp_dx-1: restarted' });
    expect(sent.at(-1)).toBe('restart "bgp_dx-1"');
    expect((await call('POST', '/v1/bgp/neighbors/dx-1/soft-reset?direction=out')).statusCode).toBe(200);
    expect(sent.at(-1)).toBe('reload out "bgp_dx-1"');
    expect((await call('POST', '/v1/bgp/neighbors/dx-1/soft-reset?direction=sideways')).statusCode).toBe(400);
    expect((await call('POST', '/v1/bgp/neighbors/nope/reset')).statusCode).toBe(404);

    const routes = await call('GET', '/v1/bgp/routes?prefix=192.168.0.0/16&limit=1');
    expect(routes.json()).toMatchObject({ truncated: true, routes: [{ prefix: '192.168.50.0/24', neighbor: 'dx-1' }] });
    expect(sent.at(-1)).toBe('show route where source = RTS_BGP && net ~ [ 192.168.0.0/16+ ] all');

    const s = await call('GET', '/v1/bgp/status');
    expect(s.statusCode, s.body).toBe(200);
    expect(s.json()).toMatchObject({ configured: true, bird: { running: true, pid: 4242 }, neighbors: [{ id: 'dx-1', md5: true }] });
  });
});
