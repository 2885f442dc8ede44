// DHCP and DNS for VPC hosts, for real: `junction serve` in the lab's
// router namespace runs dnsmasq for vpc0 (jumbo VPCs, MTU 9000) and not for
// vpc1. VPC hosts run busybox's udhcpc: a1 gets an address in the range,
// the gateway, the MTU, the DNS server and the domain; a2 (its MAC
// reserved) gets its reserved address; both leases show in the API and in
// status; b1 on vpc1 gets no lease. DNS: Junction's forwarder answers a1
// by asking an upstream resolver (a second dnsmasq in the lab's internet
// namespace), and answers b1 on neither router address (vpc1's has no
// socket, and vpc0's is reachable from vpc1 only through the firewall,
// which opens DNS on vpc0 alone). Reconcile repairs a hand-edited
// dnsmasq.conf; a killed dnsmasq comes back; a restart of Junction adopts it;
// dnsmasq --test accepts every generated section that verify accepts;
// `junction down` stops it, with Junction running or not.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseExposition } from '../support/prometheus-text.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressing } from '../lab-kit/topology.js';
import type { LabRole } from '../lab-kit/topology.js';
import { requireRoot, uniquePrefix, withLab } from './support/lab-fixture.js';
import { startJunction, type RunningJunction } from './support/junction.js';
import { requireTools } from './support/tools.js';
import { waitFor } from '../lab-kit/wait.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { processGone } from '../../appliance/platform/stale-process.js';
import fc from 'fast-check';
import { SystemCommandRunner } from '../../appliance/platform/command-runner.js';
import type { Config } from '../../appliance/model/schema.js';
import { renderDhcp } from '../../appliance/subsystems/dhcp/render.js';
import { verifyDhcpConfig } from '../../appliance/subsystems/dhcp/verify.js';
import { DEFAULT_FUZZ_SEED } from '../support/config-arbitraries.js';
import { dhcpDocument } from '../support/dhcp-arbitraries.js';

const root = requireRoot();
const CLI = fileURLToPath(new URL('../../dist/appliance/cli.js', import.meta.url));
requireTools('dhcp-server', root.isRoot, [{ program: 'dnsmasq', pkg: 'dnsmasq-base' }, { program: 'busybox', pkg: 'busybox' }]);
const { internet, ccnn, vpcs } = addressing;

const RESERVED_MAC = '02:00:00:00:0a:02';
const RESERVED_ADDRESS = '10.1.0.50';
/** the name the upstream resolver knows, and its answer */
const UPSTREAM_NAME = 'upstream.lab.test';
const UPSTREAM_ANSWER = '203.0.113.7';

const config = {
  interfaces: [
    { name: 'ccnn0', role: 'ccnn', zone: 'ccnn', addresses: [`${ccnn.router}/24`] },
    { name: 'vpc0', role: 'vpc', zone: 'vpc-a', addresses: [`${vpcs.a.gateway}/24`], mtu: 9000 },
    { name: 'vpc1', role: 'vpc', zone: 'vpc-b', addresses: [`${vpcs.b.gateway}/24`], mtu: 9000 },
  ],
  zones: [{ name: 'ccnn' }, { name: 'vpc-a' }, { name: 'vpc-b' }],
  routes: { static: [{ id: 'default', destination: '0.0.0.0/0', via: ccnn.gateway }] },
  dhcp: {
    dns_forwarder: { upstream_servers: [internet.host] },
    servers: [{
      interface: 'vpc0',
      ranges: [{ start: '10.1.0.100', end: '10.1.0.150' }],
      domain: 'vpc-a.internal',
      mtu: 9000,
      reservations: [{ mac: RESERVED_MAC, address: RESERVED_ADDRESS, hostname: 'a2' }],
    }],
  },
};

describe.skipIf(!root.isRoot)('DHCP server and DNS forwarder for VPC hosts', () => {
  const prefix = uniquePrefix('h');
  const lab = withLab({ prefix, mtu: 9000 }, root.isRoot);
  let junction: RunningJunction;
  let dir: string;
  let planLines: string[] = [];

  /** busybox udhcpc on the host's eth0, bounded; the variables its script saw when bound, or undefined without a lease. */
  async function dhcpClient(host: LabRole): Promise<Record<string, string> | undefined> {
    const out = join(dir, `${host}.env`);
    rmSync(out, { force: true });
    const result = await lab().exec(host, ['env', `OUT=${out}`, 'busybox', 'udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '4', '-T', '1', '-A', '1', '-O', 'mtu', '-s', join(dir, 'udhcpc.sh')], { timeoutMs: 20_000 });
    let text: string;
    try {
      text = readFileSync(out, 'utf8');
    } catch {
      expect(result.code, `udhcpc on ${host} exited 0 but its script never saw a lease: ${result.stderr}`).not.toBe(0);
      return undefined;
    }
    return Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }

  /** the address the API lists for a host's MAC */
  async function leaseOf(host: LabRole): Promise<string> {
    const mac = JSON.parse((await lab().exec(host, ['ip', '-j', 'link', 'show', 'eth0'], { check: true })).stdout)[0].address;
    const leases = (await junction.api('GET', '/v1/dhcp/leases')).body.leases as Array<{ mac: string; address: string }>;
    return leases.find((l) => l.mac === mac)!.address;
  }

  /** busybox nslookup from a host to a server, bounded; the answer's text, or undefined when none came. */
  async function lookup(host: LabRole, server: string): Promise<string | undefined> {
    const result = await lab().exec(host, ['timeout', '6', 'busybox', 'nslookup', '-type=a', UPSTREAM_NAME, server], { timeoutMs: 10_000 });
    return result.code === 0 ? result.stdout : undefined;
  }

  /** packets the router's input default has dropped so far */
  async function inputDrops(): Promise<number> {
    const listing = JSON.parse((await lab().exec('router', ['nft', '-j', 'list', 'chain', 'inet', 'junction', 'input'], { check: true })).stdout);
    const rule = listing.nftables.find((e: { rule?: { comment?: string } }) => e.rule?.comment === 'junction:input-default')?.rule;
    return rule?.expr.find((x: { counter?: { packets: number } }) => x.counter)?.counter.packets ?? -1;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'junction-dhcp-lab-'));
    const script = join(dir, 'udhcpc.sh');
    writeFileSync(script, '#!/bin/sh\n[ "$1" = bound ] && env > "$OUT"\nexit 0\n');
    chmodSync(script, 0o755);
    // the upstream resolver: knows one name, asks nobody
    lab().spawn('inet', [
      'dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--bind-interfaces', `--listen-address=${internet.host}`,
      `--address=/${UPSTREAM_NAME}/${UPSTREAM_ANSWER}`, `--pid-file=${join(dir, 'upstream.pid')}`, '--log-facility=-',
    ]);
    // a1 and a2 take their addresses by DHCP, so the lab's static ones go
    for (const host of ['a1', 'a2'] as const) await lab().exec(host, ['ip', 'addr', 'flush', 'dev', 'eth0'], { check: true });
    await lab().exec('a2', ['ip', 'link', 'set', 'eth0', 'address', RESERVED_MAC], { check: true });
    junction = await startJunction(lab());
    const put = await junction.api('PUT', '/v1/config', config);
    expect(put.status, put.text).toBe(200);
    planLines = put.body.plan.subsystems.find((p: { subsystem: string }) => p.subsystem === 'dhcp').add;
  });

  afterAll(async () => {
    // dnsmasq stays running after a clean stop (by design); the lab's
    // teardown ends every process inside its namespaces, by pid
    await junction?.stop();
    if (junction) rmSync(junction.stateDir, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the plan showed dnsmasq lines; the firewall opens DHCP and DNS on vpc0 only, where alone dnsmasq listens for DNS', async () => {
    expect(planLines).toEqual(expect.arrayContaining(['dnsmasq: interface=vpc0', 'dnsmasq: dhcp-option=tag:vpc0,option:mtu,9000', `dnsmasq: server=${internet.host}`, `dnsmasq: dhcp-host=${RESERVED_MAC},${RESERVED_ADDRESS},a2,3600`]));
    expect(planLines.filter((l) => l.includes('vpc1'))).toEqual([]);
    const ruleset = (await lab().exec('router', ['nft', 'list', 'chain', 'inet', 'junction', 'input'], { check: true })).stdout;
    const dnsRules = ruleset.split('\n').filter((l) => /dport 53\b/.test(l));
    const dhcpRules = ruleset.split('\n').filter((l) => /dport 67\b/.test(l));
    expect(dhcpRules).toHaveLength(1);
    expect(dhcpRules[0]).toContain('"vpc0"');
    expect(dnsRules).toHaveLength(2);
    for (const rule of [...dhcpRules, ...dnsRules]) expect(rule).not.toContain('vpc1');
    // dnsmasq's DNS sockets: vpc0's addresses only (its IPv4 one and its
    // link-local IPv6 one), not vpc1's, not lo's, not the wildcard
    for (const proto of ['-lnu', '-lnt']) {
      const sockets = (await lab().exec('router', ['ss', '-H', proto, 'sport = :53'], { check: true })).stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)[3]);
      expect(sockets, `ss ${proto}`).toContain(`${vpcs.a.gateway}:53`);
      for (const socket of sockets) expect(socket === `${vpcs.a.gateway}:53` || socket!.endsWith('%vpc0:53'), `ss ${proto}: ${socket}`).toBe(true);
    }
  });

  it('a VPC host gets an address in the range, the gateway, MTU 9000, DNS and domain; a reserved MAC its reserved address; vpc1 gets nothing', async () => {
    const a1 = await dhcpClient('a1');
    expect(a1, 'a1 got no lease').toBeDefined();
    const last = Number(a1!.ip!.split('.')[3]);
    expect(a1!.ip).toMatch(/^10\.1\.0\./);
    expect(last).toBeGreaterThanOrEqual(100);
    expect(last).toBeLessThanOrEqual(150);
    expect(a1).toMatchObject({ router: vpcs.a.gateway, mtu: '9000', dns: vpcs.a.gateway, domain: 'vpc-a.internal', subnet: '255.255.255.0' });
    await lab().exec('a1', ['ip', 'addr', 'add', `${a1!.ip}/24`, 'dev', 'eth0'], { check: true });

    const a2 = await dhcpClient('a2');
    expect(a2?.ip).toBe(RESERVED_ADDRESS);

    expect(await dhcpClient('b1')).toBeUndefined();

    const leases = await junction.api('GET', '/v1/dhcp/leases');
    expect(leases.status, leases.text).toBe(200);
    const a1Mac = JSON.parse((await lab().exec('a1', ['ip', '-j', 'link', 'show', 'eth0'], { check: true })).stdout)[0].address;
    expect(leases.body.leases).toEqual(expect.arrayContaining([
      expect.objectContaining({ address: a1!.ip, mac: a1Mac, interface: 'vpc0' }),
      expect.objectContaining({ address: RESERVED_ADDRESS, mac: RESERVED_MAC, interface: 'vpc0' }),
    ]));
    expect(leases.body.leases).toHaveLength(2);
    const status = await junction.api('GET', '/v1/status');
    expect(status.body.dhcp).toMatchObject({ dnsmasq: { running: true }, dhcp_interfaces: ['vpc0'], dns_interfaces: ['vpc0'] });
    expect(status.body.dhcp.leases.map((l: { address: string }) => l.address).sort()).toEqual([a1!.ip, RESERVED_ADDRESS].sort());
    // and in GET /metrics, for the Grafana board (a fresh reading: the cache may predate the leases)
    const metrics = await waitFor('two vpc0 leases in /metrics', async () => {
      const m = parseExposition((await junction.api('GET', '/metrics')).text);
      return m.value('junction_dhcp_leases', { interface: 'vpc0' }) === 2 && m;
    }, 15_000, 500);
    expect(metrics.value('junction_daemon_up', { daemon: 'dnsmasq' })).toBe(1);
    expect(metrics.value('junction_dhcp_pool_size', { interface: 'vpc0' })).toBeGreaterThan(0);
  });

  it('the forwarder answers a host on vpc0 from the upstream resolver, and a host on vpc1 on neither address', async () => {
    const answer = await lookup('a1', vpcs.a.gateway);
    expect(answer, 'no DNS answer on vpc0').toBeDefined();
    expect(answer).toContain(UPSTREAM_ANSWER);
    // each of b1's queries is dropped by the firewall (its input default
    // counts it): on vpc0's address too, where dnsmasq has a socket
    for (const server of [vpcs.b.gateway, vpcs.a.gateway]) {
      const dropsBefore = await inputDrops();
      expect(await lookup('b1', server), `b1 got a DNS answer from ${server}`).toBeUndefined();
      expect(await inputDrops()).toBeGreaterThan(dropsBefore);
    }
  });

  it('reconcile repairs a hand-edited dnsmasq.conf by content; a killed dnsmasq is restarted and answers again', async () => {
    const file = join(junction.stateDir, 'dnsmasq', 'dnsmasq.conf');
    const rendered = readFileSync(file, 'utf8');
    writeFileSync(file, `${rendered}interface=vpc1\n`);
    const report = await junction.api('POST', '/v1/reconcile');
    expect(report.status, report.text).toBe(200);
    expect(report.body.repaired.dhcp).toEqual([expect.stringContaining('dnsmasq.conf differs from the rendering: - dnsmasq: interface=vpc1')]);
    expect(readFileSync(file, 'utf8')).toBe(rendered);

    const before = (await junction.api('GET', '/v1/status')).body.dhcp.dnsmasq;
    process.kill(before.pid, 'SIGKILL');
    const after = await waitFor('dnsmasq restarted by its supervisor', async () => {
      const dnsmasq = (await junction.api('GET', '/v1/status')).body.dhcp.dnsmasq;
      return dnsmasq.running && dnsmasq.pid !== before.pid ? dnsmasq : undefined;
    }, 15_000, 200);
    expect(after.restarts).toBe(before.restarts + 1);
    expect(await lookup('a1', vpcs.a.gateway)).toContain(UPSTREAM_ANSWER);
  });

  it('dnsmasq --test accepts every rendering verify accepts (generated sections)', async () => {
    const runner = new SystemCommandRunner();
    const texts = new Set<string>();
    for (const doc of fc.sample(dhcpDocument, { numRuns: 400, seed: DEFAULT_FUZZ_SEED })) {
      const config = doc as unknown as Config;
      if (verifyDhcpConfig(config).some((p) => p.severity !== 'warning')) continue;
      const artifact = renderDhcp(config);
      if (artifact.active) texts.add(artifact.text);
    }
    expect(texts.size).toBeGreaterThan(20);
    const file = join(dir, 'generated.conf');
    for (const text of texts) {
      writeFileSync(file, text);
      const result = await runner.run('dnsmasq', ['--test', `--conf-file=${file}`], { timeoutMs: 10_000 });
      expect(result.code, `${result.stderr}\n${text}`).toBe(0);
    }
  });

  it('a restart of Junction adopts dnsmasq: same pid, leases kept, still answering', async () => {
    const before = (await junction.api('GET', '/v1/status')).body.dhcp.dnsmasq.pid;
    expect(before).toBeGreaterThan(1);
    await junction.stop();
    junction = await startJunction(lab(), { stateDir: junction.stateDir });
    const status = (await junction.api('GET', '/v1/status')).body.dhcp;
    expect(status.dnsmasq).toMatchObject({ running: true, pid: before, origin: { how: 'adopted' } });
    expect(status.leases).toHaveLength(2);
    expect(await lookup('a1', vpcs.a.gateway)).toContain(UPSTREAM_ANSWER);
  });

  it('a changed server restarts dnsmasq (after dnsmasq --test); a host renewing keeps its address and gets the new lease time', async () => {
    const before = await leaseOf('a1');
    const started = performance.now();
    const put = await junction.api('PUT', '/v1/dhcp/servers/vpc0', { ...config.dhcp.servers[0], lease_time_s: 600 });
    const commitMs = Math.round(performance.now() - started);
    expect(put.status, put.text).toBe(200);
    expect(put.body.plan.subsystems.find((p: { subsystem: string }) => p.subsystem === 'dhcp').add).toContain('dnsmasq: dhcp-range=10.1.0.100,10.1.0.150,255.255.255.0,600');
    expect(put.body.actions.dhcp).toEqual([expect.stringMatching(/^restart dnsmasq \(pid \d+ -> \d+\): its configuration changed$/)]);
    const clientStarted = performance.now();
    const renewed = await dhcpClient('a1');
    const leaseMs = Math.round(performance.now() - clientStarted);
    expect(renewed).toMatchObject({ ip: before, lease: '600' });
    console.log(`[dhcp-server] commit that restarts dnsmasq: ${commitMs} ms; udhcpc discover to bound: ${leaseMs} ms`);
  });

  it('a full stop (junction down) stops dnsmasq; without Junction, down ends a dnsmasq left behind', async () => {
    const pid = (await junction.api('GET', '/v1/status')).body.dhcp.dnsmasq.pid as number;
    const down = spawnSync(process.execPath, [CLI, 'down', '--state-dir', junction.stateDir], { encoding: 'utf8', timeout: 60_000 });
    expect(down.status, down.stderr).toBe(0);
    expect(processGone(pid)).toBe(true);

    // a Junction killed outright leaves its dnsmasq; `junction down` finds it by its pid file
    junction = await startJunction(lab(), { stateDir: junction.stateDir });
    const next = await waitFor('dnsmasq started again', async () => (await junction.api('GET', '/v1/status')).body.dhcp?.dnsmasq?.pid as number | undefined);
    junction.process.kill('SIGKILL');
    await junction.process.exited;
    expect(processGone(next)).toBe(false);
    const reaped = spawnSync(process.execPath, [CLI, 'down', '--state-dir', junction.stateDir], { encoding: 'utf8', timeout: 60_000 });
    expect(reaped.status, reaped.stderr).toBe(0);
    expect(reaped.stdout).toContain(`ended pid ${next}`);
    expect(processGone(next)).toBe(true);
  });
});
