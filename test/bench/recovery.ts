// `npm run bench -- recovery` (design/performance.md): Junction restarts
// while three long-lived TCP flows cross the router: a1 -> internet host
// (NAT egress), a1 -> on-prem LAN host (IPsec tunnel), b1 -> 192.168.70.1
// (a BGP-learned Direct Connect route); see test/lab-kit/restart-site.ts.
// Each run ends Junction, (a) with SIGKILL or (b) with SIGTERM, starts it
// again on the same state dir, and measures:
//   api_back_s     from the signal until GET /v1/health answers 200
//   reconciled_s   from the signal until POST /v1/reconcile finds nothing to repair
//   lost_flows     flows whose connection broke (of 3 per run)
//   bgp_flaps      runs after which the session was re-established (bird's `since` moved)
//   tunnel_flaps   runs after which the IKE_SA or CHILD_SA ids changed, or not exactly one
//                  IKE_SA and one CHILD_SA was left on either side
//   gap_*_ms       the longest time without an echo on each path (20 ms probes)
// Then, for context (item "graceful restart where a daemon itself must
// restart"), the daemons themselves are killed once each: charon (SAs are
// re-negotiated; its outage is measured on the tunnel flow) and bird (BGP
// graceful restart: the kernel keeps the routes; measured on the BGP flow).
// Safety: all traffic starts in lab namespaces; every wait is bounded; a
// watchdog and signal handlers take the lab down; the lab's teardown kills
// everything left in its namespaces.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiRequest, targetFromStateDir } from '../../appliance/main/api-client.js';
import { charonPaths } from '../../appliance/subsystems/vpn/strongswan-conf.js';
import { Lab } from '../lab-kit/lab.js';
import { addressing } from '../lab-kit/topology.js';
import { startLongFlow, type FlowResult } from '../lab-kit/long-flow.js';
import { BGP_HOST, bgpSession, saCounts, startSite, type Site } from '../lab-kit/restart-site.js';
import { emitResult, printTable, round, type Figure } from './report.js';
import { guardBenchmark, tearDownLabs } from './guards.js';
import { sleep } from '../../appliance/platform/sleep.js';
import { waitFor } from '../lab-kit/wait.js';

const RUNS = Math.min(Math.max(Number(process.env.BENCH_RECOVERY_RUNS) || 3, 1), 10);
const WATCHDOG_MS = 15 * 60_000;
const TARGET_API_BACK_S = 3;
/** bird's `since` is recomputed on each query: a few ms of jitter (test/lab/support/bgp-session.ts) */
const SINCE_JITTER_MS = 1000;
const PATHS = ['nat', 'tunnel', 'bgp'] as const;

const log = (line: string) => process.stderr.write(`[recovery] ${line}\n`);

interface RunResult {
  mode: 'kill9' | 'sigterm';
  apiBackS: number;
  reconciledS: number;
  flows: Record<(typeof PATHS)[number], FlowResult>;
  bgpFlap: boolean;
  tunnelFlap: boolean;
  repairedAtBoot: string[];
}

async function startFlows(lab: Lab, port: number) {
  const { internet, onprem } = addressing;
  return {
    nat: await startLongFlow(lab, 'a1', 'inet', internet.host, port),
    tunnel: await startLongFlow(lab, 'a1', 'onprem-lan', onprem.lanHost, port + 1),
    bgp: await startLongFlow(lab, 'b1', 'onprem', BGP_HOST, port + 2),
  };
}

async function stopFlows(flows: Awaited<ReturnType<typeof startFlows>>): Promise<RunResult['flows']> {
  return { nat: await flows.nat.stop(), tunnel: await flows.tunnel.stop(), bgp: await flows.bgp.stop() };
}

const both = async (site: Site) => [await saCounts(charonPaths(join(site.stateDir, 'charon')).socket), await saCounts(site.onpremCharon.socketPath)];

async function oneRun(lab: Lab, site: Site, mode: RunResult['mode'], port: number): Promise<RunResult> {
  const session = await bgpSession(site);
  const sasBefore = await both(site);
  const flows = await startFlows(lab, port);
  await sleep(500);
  const t0 = Date.now();
  site.junction.kill(mode === 'kill9' ? 'SIGKILL' : 'SIGTERM');
  await site.junction.exited;
  const restarting = site.startJunction();
  const target = targetFromStateDir(site.stateDir);
  await waitFor('API back', async () => (await apiRequest(target, 'GET', '/v1/health').catch(() => undefined))?.status === 200, 30_000, 10);
  const apiBackS = (Date.now() - t0) / 1000;
  await restarting;
  const boot = (await site.api('GET', '/v1/status')).body.reconcile;
  await waitFor('reconciled', async () => {
    const r = (await site.api('POST', '/v1/reconcile')).body;
    return Object.keys(r.repaired ?? {}).length === 0 && Object.keys(r.errors ?? {}).length === 0;
  }, 30_000, 20);
  const reconciledS = (Date.now() - t0) / 1000;
  await sleep(1500); // let the flows show any outage that follows the restart
  const result = await stopFlows(flows);
  const after = await bgpSession(site);
  const sasAfter = await both(site);
  const tunnelFlap = sasAfter.some((s, i) => s.ike !== 1 || s.child !== 1 || s.ids.join() !== sasBefore[i]!.ids.join());
  const bgpFlap = !after.established || Math.abs(Date.parse(after.since ?? '') - Date.parse(session.since ?? '')) >= SINCE_JITTER_MS;
  return { mode, apiBackS, reconciledS, flows: result, bgpFlap, tunnelFlap, repairedAtBoot: Object.keys(boot?.repaired ?? {}) };
}

/** Kills one daemon of Junction's and measures the outage on the path it carries. */
async function daemonRestart(lab: Lab, site: Site, which: 'charon' | 'bird', port: number): Promise<{ gapMs: number; broken: string | null; sas?: string; routeKept?: boolean }> {
  const pid = which === 'charon' ? (await site.api('GET', '/v1/vpn/status')).body.charon.pid : (await site.api('GET', '/v1/bgp/status')).body.bird.pid;
  const flows = await startFlows(lab, port);
  await sleep(500);
  process.kill(pid, 'SIGKILL');
  let routeKept: boolean | undefined;
  if (which === 'bird') {
    await sleep(200);
    routeKept = (await lab.exec('router', ['ip', 'route', 'show', '192.168.70.0/24'])).stdout.includes('dx0');
  }
  await waitFor(`${which} restarted`, async () => {
    const s = which === 'charon' ? (await site.api('GET', '/v1/vpn/status')).body.charon : (await site.api('GET', '/v1/bgp/status')).body.bird;
    return s?.pid && s.pid !== pid;
  }, 30_000, 50);
  if (which === 'charon') await waitFor('tunnel up again', async () => (await both(site)).every((s) => s.child === 1), 60_000, 200).catch(() => undefined);
  else await waitFor('BGP established again', async () => (await bgpSession(site)).established, 60_000, 200).catch(() => undefined);
  await sleep(2_000);
  const result = await stopFlows(flows);
  const path = which === 'charon' ? result.tunnel : result.bgp;
  const sas = (await both(site)).map((s) => `${s.ike}/${s.child}`).join(' ');
  return { gapMs: path.maxGapMs, broken: path.broken, ...(which === 'charon' ? { sas } : { routeKept }) };
}

export async function runRecovery(): Promise<number> {
  const prefix = `jrec${process.pid % 100000}`;
  const work = mkdtempSync(join(tmpdir(), 'jrecovery-'));
  const labs: Lab[] = [];
  const cleanup = async () => {
    await tearDownLabs(labs, [prefix], log);
    rmSync(work, { recursive: true, force: true });
  };
  const guard = guardBenchmark(cleanup, log, WATCHDOG_MS);
  let site: Site | undefined;
  try {
    await Lab.cleanupStale(prefix);
    const lab = await Lab.up({ prefix, onprem: true });
    labs.push(lab);
    site = await startSite(lab, join(work, 'state'), work);
    log('site up: tunnel established, BGP route installed');
    const runs: RunResult[] = [];
    let port = 7100;
    for (let i = 0; i < RUNS; i++) {
      for (const mode of ['kill9', 'sigterm'] as const) {
        const run = await oneRun(lab, site, mode, (port += 3));
        log(`${mode} #${i + 1}: api back ${run.apiBackS.toFixed(3)} s, reconciled ${run.reconciledS.toFixed(3)} s, gaps ${PATHS.map((p) => `${p} ${run.flows[p].maxGapMs} ms`).join(', ')}`);
        runs.push(run);
      }
    }
    const charon = await daemonRestart(lab, site, 'charon', (port += 3));
    const bird = await daemonRestart(lab, site, 'bird', (port += 3));
    const max = (values: number[]) => Math.max(...values);
    const figures = {
      api_back_s: round(max(runs.map((r) => r.apiBackS)), 3),
      reconciled_s: round(max(runs.map((r) => r.reconciledS)), 3),
      lost_flows: runs.reduce((n, r) => n + PATHS.filter((p) => r.flows[p].broken !== null || !r.flows[p].connected).length, 0),
      bgp_flaps: runs.filter((r) => r.bgpFlap).length,
      tunnel_flaps: runs.filter((r) => r.tunnelFlap).length,
      gap_nat_ms: max(runs.map((r) => r.flows.nat.maxGapMs)),
      gap_tunnel_ms: max(runs.map((r) => r.flows.tunnel.maxGapMs)),
      gap_bgp_ms: max(runs.map((r) => r.flows.bgp.maxGapMs)),
      repaired_at_boot: runs.filter((r) => r.repairedAtBoot.length).length,
    };
    const rows: Figure[][] = [['run', 'api_back_s', 'reconciled_s', 'gap nat ms', 'gap tunnel ms', 'gap bgp ms', 'lost', 'bgp flap', 'tunnel flap', 'repaired at boot']];
    for (const r of runs) {
      rows.push([r.mode, round(r.apiBackS, 3), round(r.reconciledS, 3), r.flows.nat.maxGapMs, r.flows.tunnel.maxGapMs, r.flows.bgp.maxGapMs,
        PATHS.filter((p) => r.flows[p].broken !== null).length, r.bgpFlap, r.tunnelFlap, r.repairedAtBoot.join(',') || '-']);
    }
    printTable(`recovery: ${RUNS} x (SIGKILL + start, SIGTERM + start) of junction serve with 3 TCP flows`, rows);
    printTable('recovery: a daemon itself killed (context, not part of pass)', [
      ['daemon', 'longest gap ms (its path)', 'flow broke', 'after'],
      ['charon (SAs re-negotiated)', charon.gapMs, charon.broken ?? 'no', `SAs junction/onprem ike/child: ${charon.sas}`],
      ['bird (graceful restart)', bird.gapMs, bird.broken ?? 'no', `route kept in kernel while bird was down: ${bird.routeKept}`],
    ]);
    const pass = figures.api_back_s < TARGET_API_BACK_S && figures.lost_flows === 0 && figures.bgp_flaps === 0 && figures.tunnel_flaps === 0;
    await site.stop();
    site = undefined;
    guard.release();
    await cleanup();
    emitResult({
      bench: 'recovery',
      date: new Date().toISOString(),
      runs_per_mode: RUNS,
      ...figures,
      charon_restart_gap_ms: charon.gapMs,
      charon_restart_flow_broke: charon.broken !== null,
      charon_restart_sas: charon.sas ?? null,
      bird_restart_gap_ms: bird.gapMs,
      bird_restart_route_kept: bird.routeKept ?? null,
      definitions: {
        api_back_s: 'max over runs: from the signal to junction serve until GET /v1/health answers 200 (a new serve is started as soon as the old one has exited)',
        reconciled_s: 'max over runs: from the signal until POST /v1/reconcile repairs nothing and reports no error',
        lost_flows: 'connections broken, summed over runs (3 flows per run: NAT egress, IPsec tunnel, BGP route)',
        bgp_flaps: "runs after which bird's session dx-1 had been re-established",
        tunnel_flaps: 'runs after which the IKE_SA/CHILD_SA unique ids differ, or either side has not exactly 1 IKE_SA and 1 CHILD_SA',
        gap_ms: 'longest time without an echo on a path (a probe every 20 ms), max over runs',
      },
      targets: { api_back_s: { max: TARGET_API_BACK_S }, lost_flows: { max: 0 }, bgp_flaps: { max: 0 }, tunnel_flaps: { max: 0 } },
      pass,
    });
    return 0;
  } catch (error) {
    guard.release();
    await site?.stop().catch(() => undefined);
    await cleanup();
    throw error;
  }
}
