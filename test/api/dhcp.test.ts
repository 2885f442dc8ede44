// /v1/dhcp through app.inject, with a fake dnsmasq: servers, reservations
// and the forwarder as views of the document, bad input refused with its
// document path and nothing applied, the plan showing dnsmasq's lines, a
// changed rendering restarting dnsmasq after `dnsmasq --test`, and leases
// read from the lease file. No daemon is started.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../api/server.js';
import { DhcpSubsystem } from '../../appliance/subsystems/dhcp/index.js';
import type { DnsmasqDaemon } from '../../appliance/subsystems/dhcp/config.js';
import { dnsmasqPaths } from '../../appliance/subsystems/dhcp/dnsmasq-process.js';
import { RecordingCommandRunner } from '../support/recording-runner.js';
import { memoryLogger } from '../support/memory-logger.js';
import { NO_CAPABILITIES } from '../../appliance/platform/capabilities.js';
import { Reconciler } from '../../appliance/core/reconciler.js';
import { StatusService } from '../../appliance/core/status.js';
import { Store } from '../../appliance/core/store.js';

const document = {
  interfaces: [
    { name: 'vpc0', role: 'vpc', zone: 'vpc-a', addresses: ['10.1.0.1/24'], mtu: 9000 },
    { name: 'vpc1', role: 'vpc', zone: 'vpc-b', addresses: ['10.2.0.1/24'] },
  ],
  zones: [{ name: 'vpc-a' }, { name: 'vpc-b' }],
};
const vpc0 = { interface: 'vpc0', ranges: [{ start: '10.1.0.100', end: '10.1.0.199' }], mtu: 9000 };

describe('/v1/dhcp', () => {
  let stateDir: string;
  let store: Store;
  let app: FastifyInstance;
  let runner: RecordingCommandRunner;
  let pid: number | undefined;
  let starts: number;
  const auth = { authorization: '' };

  beforeEach(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'junction-dhcp-api-'));
    store = new Store(stateDir);
    starts = 0;
    pid = undefined;
    const log = memoryLogger();
    runner = new RecordingCommandRunner();
    const files = dnsmasqPaths(join(stateDir, 'dnsmasq'));
    const fake: DnsmasqDaemon = {
      get pid() { return pid; },
      restarts: 0, origin: undefined, files,
      adopt: async () => undefined,
      start: async () => { starts++; pid = 5000 + starts; return pid; },
      stop: async () => { pid = undefined; },
      detach: () => undefined,
      recentLog: () => [],
    };
    const dhcp = new DhcpSubsystem({ runner, stateDir, log, launchDnsmasq: () => fake });
    const reconciler = new Reconciler(store, [dhcp], NO_CAPABILITIES, log);
    const status = new StatusService([dhcp], () => ({ config: reconciler.currentConfig(), revision: store.currentRevisionId(), capabilities: NO_CAPABILITIES }));
    app = await buildServer({ reconciler, store, status, dhcp });
    await app.ready();
    auth.authorization = `Bearer ${store.createToken('admin', 'admin').token}`;
    expect((await call('PUT', '/v1/config', document)).statusCode).toBe(200);
  });

  afterEach(async () => {
    await app.close();
    store.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const call = (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
    app.inject({ method, url, headers: auth, ...(payload !== undefined ? { payload: payload as object } : {}) });

  it('a server is created, planned by dnsmasq line, tested, started once, and restarted only when its rendering changes', async () => {
    const dry = await call('POST', '/v1/dhcp/servers?dry_run=true', vpc0);
    expect(dry.statusCode, dry.body).toBe(200);
    const plan = dry.json().plan.subsystems.find((s: { subsystem: string }) => s.subsystem === 'dhcp');
    expect(plan.add).toContain('dnsmasq: dhcp-option=tag:vpc0,option:mtu,9000');
    expect(plan.add).toContain('dnsmasq: interface=vpc0');
    expect(starts).toBe(0);

    const created = await call('POST', '/v1/dhcp/servers', vpc0);
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().actions.dhcp).toEqual(['start dnsmasq (pid 5001)']);
    const conf = join(stateDir, 'dnsmasq', 'dnsmasq.conf');
    expect(runner.transcript()).toEqual([`dnsmasq --test --conf-file=${conf}.new`]);
    expect(readFileSync(conf, 'utf8')).toContain('dhcp-range=10.1.0.100,10.1.0.199,255.255.255.0,3600\n');

    const same = await call('PUT', '/v1/dhcp/servers/vpc0', vpc0);
    expect(same.json()).toMatchObject({ changed: false, actions: { dhcp: [] } });

    const reserved = await call('POST', '/v1/dhcp/servers/vpc0/reservations', { mac: '02:00:00:00:0a:02', address: '10.1.0.50' });
    expect(reserved.statusCode, reserved.body).toBe(201);
    expect(reserved.json().plan.subsystems.find((s: { subsystem: string }) => s.subsystem === 'dhcp').add).toEqual(['dnsmasq: dhcp-host=02:00:00:00:0a:02,10.1.0.50,3600']);
    expect(reserved.json().actions.dhcp).toEqual(['restart dnsmasq (pid 5001 -> 5002): its configuration changed']);

    expect((await call('GET', '/v1/dhcp/servers/vpc0/reservations/02:00:00:00:0a:02')).json()).toEqual({ mac: '02:00:00:00:0a:02', address: '10.1.0.50' });
    const moved = await call('PUT', '/v1/dhcp/servers/vpc0/reservations/02:00:00:00:0a:02', { mac: '02:00:00:00:0a:02', address: '10.1.0.51' });
    expect(moved.json().plan.subsystems.find((s: { subsystem: string }) => s.subsystem === 'dhcp')).toMatchObject({
      add: ['dnsmasq: dhcp-host=02:00:00:00:0a:02,10.1.0.51,3600'], remove: ['dnsmasq: dhcp-host=02:00:00:00:0a:02,10.1.0.50,3600'],
    });

    const fwd = await call('PUT', '/v1/dhcp/dns-forwarder', { upstream_servers: ['198.18.0.2'] });
    expect(fwd.statusCode, fwd.body).toBe(200);
    expect(readFileSync(conf, 'utf8')).toContain('server=198.18.0.2\n');
    expect(readFileSync(conf, 'utf8')).toContain('dhcp-option=tag:vpc0,option:dns-server,10.1.0.1\n');
    expect((await call('GET', '/v1/dhcp')).json()).toMatchObject({ servers: [{ interface: 'vpc0', reservations: [{ mac: '02:00:00:00:0a:02', address: '10.1.0.51' }] }], dns_forwarder: { upstream_servers: ['198.18.0.2'] } });

    const gone = await call('DELETE', '/v1/dhcp');
    expect(gone.json().actions.dhcp).toEqual(['stop dnsmasq (no interface served)']);
    expect(pid).toBeUndefined();
  });

  it('bad input is a 4xx naming the document path, and nothing is applied', async () => {
    expect((await call('POST', '/v1/dhcp/servers', vpc0)).statusCode).toBe(201);
    const before = readFileSync(join(stateDir, 'dnsmasq', 'dnsmasq.conf'), 'utf8');
    const revision = store.currentRevisionId();

    const badMac = await call('POST', '/v1/dhcp/servers/vpc0/reservations', { mac: '02-00-00-00-0a-02', address: '10.1.0.50' });
    expect(badMac.statusCode).toBe(400);
    expect(badMac.json().problems).toEqual([expect.objectContaining({ path: '/dhcp/servers/0/reservations/0/mac' })]);

    const inRange = await call('POST', '/v1/dhcp/servers/vpc0/reservations', { mac: '02:00:00:00:0a:02', address: '10.1.0.150' });
    expect(inRange.statusCode).toBe(422);
    expect(inRange.json().problems).toEqual([expect.objectContaining({ path: '/dhcp/servers/0/reservations/0/address', message: expect.stringContaining('inside the dynamic range') })]);

    const outside = await call('PUT', '/v1/dhcp/servers/vpc0', { ...vpc0, ranges: [{ start: '10.2.0.100', end: '10.2.0.110' }] });
    expect(outside.statusCode).toBe(422);
    expect(outside.json().problems).toEqual([expect.objectContaining({ path: '/dhcp/servers/0/ranges/0/start' })]);

    expect((await call('POST', '/v1/dhcp/servers/vpc0/reservations', { mac: '02:00:00:00:0a:02', address: '10.1.0.50' })).statusCode).toBe(201);
    const dupMac = await call('POST', '/v1/dhcp/servers/vpc0/reservations', { mac: '02:00:00:00:0A:02', address: '10.1.0.51' });
    expect(dupMac.statusCode).toBe(422);
    expect(dupMac.json().problems).toEqual([expect.objectContaining({ path: '/dhcp/servers/0/reservations/1/mac' })]);

    const noForwarder = await call('POST', '/v1/dhcp/servers', { interface: 'vpc1', dhcp: false, dns: true });
    expect(noForwarder.statusCode).toBe(422);
    expect(noForwarder.json().problems).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/dhcp/servers/1/dns' })]));

    expect((await call('POST', '/v1/dhcp/servers/vpc9/reservations', { mac: '02:00:00:00:0a:03', address: '10.1.0.52' })).statusCode).toBe(404);
    expect(store.currentRevisionId()).toBe(revision! + 1); // only the good reservation
    expect(readFileSync(join(stateDir, 'dnsmasq', 'dnsmasq.conf'), 'utf8')).toBe(`${before}dhcp-host=02:00:00:00:0a:02,10.1.0.50,3600\n`);
  });

  it('a rendering dnsmasq refuses is a 500 that names the server whose line it refused, and leaves the running dnsmasq and its file alone', async () => {
    expect((await call('POST', '/v1/dhcp/servers', vpc0)).statusCode).toBe(201);
    const conf = join(stateDir, 'dnsmasq', 'dnsmasq.conf');
    const before = readFileSync(conf, 'utf8');
    runner.on((c) => c.program === 'dnsmasq', () => ({ code: 1, stderr: 'dnsmasq: bad option at line 12 of dnsmasq.conf.new\n' }));
    const refused = await call('PUT', '/v1/dhcp/servers/vpc0', { ...vpc0, lease_time_s: 600 });
    expect(refused.statusCode).toBe(500);
    expect(refused.json()).toMatchObject({ error: 'apply_failed', problems: [{ path: '/dhcp/servers/0', message: expect.stringContaining('bad option at line 12') }] });
    expect({ starts, pid }).toEqual({ starts: 1, pid: 5001 });
    expect(readFileSync(conf, 'utf8')).toBe(before);
    expect(existsSync(`${conf}.new`)).toBe(false);
    expect((await call('GET', '/v1/dhcp/servers/vpc0')).json().lease_time_s).toBeUndefined();
  });

  it('lists leases from the lease file with their interface, in the API and in status', async () => {
    expect((await call('POST', '/v1/dhcp/servers', vpc0)).statusCode).toBe(201);
    const dir = join(stateDir, 'dnsmasq');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'dnsmasq.leases'), '1764640800 02:00:00:00:0a:01 10.1.0.123 a1 01:02:00:00:00:0a:01\n0 02:00:00:00:0b:01 10.9.0.7 * *\n');
    const leases = await call('GET', '/v1/dhcp/leases');
    expect(leases.statusCode).toBe(200);
    expect(leases.json().leases).toEqual([
      { address: '10.1.0.123', mac: '02:00:00:00:0a:01', hostname: 'a1', client_id: '01:02:00:00:00:0a:01', expires: '2025-12-02T02:00:00.000Z', interface: 'vpc0' },
      { address: '10.9.0.7', mac: '02:00:00:00:0b:01', expires: 'never' },
    ]);
    expect((await call('GET', '/v1/dhcp/leases?interface=vpc0')).json().leases).toHaveLength(1);
    const status = (await call('GET', '/v1/status')).json();
    expect(status.dhcp).toMatchObject({ dnsmasq: { running: true, pid: 5001 }, dhcp_interfaces: ['vpc0'], dns_interfaces: [], leases: [{ address: '10.1.0.123' }, { address: '10.9.0.7' }] });
  });
});
