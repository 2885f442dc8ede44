// `npm run bench -- api` (design/performance.md): the API under load, with
// autocannon (as a library) at 32 connections over Junction's Unix socket.
//
//   read      GET /v1/status with the demo document committed (served from
//             the status cache, core/status.ts; cached_age_ms is checked
//             against its bound on every sampled answer).
//   baseline  GET /empty on fastify with the same options and the same
//             socket server, started the same way in the same namespace
//             (empty-server.ts). Read and baseline run in alternating
//             rounds, so the machine's drift hits both alike.
//   commit    PUT /v1/firewall/policies/a-to-b/rules/bench-commit, each
//             request a different port: a whole-document commit whose
//             kernel change is one map element out and one in. Commits are
//             serialized, so at 32 connections the p99 is mostly queueing.
//
// Targets: read_p99_ms < 5, read_rps_ratio >= 0.5 (status rps / empty-route
// rps); commit_p99_ms is reported. Safety: no network traffic at all (Unix
// sockets); both servers run in the lab's router namespace and go with the
// lab's teardown, also on SIGINT/SIGTERM and by the watchdog.
import autocannon from 'autocannon';
import { existsSync, rmSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { apiRequest, readToken } from '../../appliance/main/api-client.js';
import { labStateDir } from '../lab-kit/command.js';
import { Lab, type LabProcess } from '../lab-kit/lab.js';
import { waitFor } from '../lab-kit/wait.js';
import { REPO_ROOT, emitResult, median, printTable, round } from './report.js';
import { guardBenchmark, tearDownLabs } from './guards.js';
import { demoDocument, junctionLogTail, startLabJunction, timedRequest } from './lab-junction.js';

const CONNECTIONS = 32;
/** seconds per read or baseline round; rounds alternate (BENCH_API_ROUNDS overrides, 1-10) */
const ROUND_S = 5;
const ROUNDS = Math.min(Math.max(Number(process.env.BENCH_API_ROUNDS) || 3, 1), 10);
const COMMIT_S = 10;
const TARGETS = { read_p99_ms: 5, read_rps_ratio: 0.5 };
const WATCHDOG_MS = 10 * 60_000;
const COMMIT_RULE = 'bench-commit';

const log = (line: string) => process.stderr.write(`[api] ${line}\n`);

interface Load {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
}

function summarize(result: autocannon.Result): Load {
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total, non2xx: result.non2xx, errors: result.errors + result.timeouts };
}

async function cannon(options: autocannon.Options): Promise<Load> {
  const result = await autocannon({ connections: CONNECTIONS, timeout: 30, ...options });
  return summarize(result);
}

export async function runApi(): Promise<number> {
  const prefix = `jap${process.pid % 100000}`;
  const stateDir = labStateDir(prefix);
  const labs: Lab[] = [];
  let baseline: LabProcess | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      baseline?.kill('SIGTERM');
      await tearDownLabs(labs, [prefix], log);
      rmSync(stateDir, { recursive: true, force: true });
    })());
  const guard = guardBenchmark(cleanup, log, WATCHDOG_MS);
  const started = new Date();
  const load = loadavg().map((l) => round(l, 2));
  try {
    await Lab.cleanupStale(prefix);
    const lab = await Lab.up({ prefix });
    labs.push(lab);
    const junction = await startLabJunction(lab, stateDir);
    const { api } = junction;
    await timedRequest(api, 'PUT', '/v1/config?comment=bench%20api%3A%20demo', demoDocument());
    const baselineSocket = join(stateDir, 'empty.sock');
    baseline = lab.spawn('router', ['unshare', '--uts', process.execPath, '--import', 'tsx', join(REPO_ROOT, 'test', 'bench', 'empty-server.ts'), baselineSocket], { logFile: join(stateDir, 'empty-server.log') });
    await waitFor('the baseline server', async () => existsSync(baselineSocket) && (await apiRequest({ socketPath: baselineSocket }, 'GET', '/empty').catch(() => undefined))?.status === 200, 30_000, 100);

    const headers = { authorization: `Bearer ${readToken(stateDir)}` };
    const statusSocket = api.socketPath!;
    const status = (await timedRequest(api, 'GET', '/v1/status')).body as { cached_age_ms?: number; max_age_ms?: number };
    if (typeof status.cached_age_ms !== 'number' || typeof status.max_age_ms !== 'number') throw new Error('GET /v1/status states no cached_age_ms / max_age_ms');
    // what each read carries: the empty route answers 2 bytes
    const statusBytes = Buffer.byteLength(JSON.stringify(status));

    // warm up both (JIT, connection pools), then alternate rounds
    await cannon({ url: 'http://junction/v1/status', socketPath: statusSocket, headers, duration: 2 });
    await cannon({ url: 'http://baseline/empty', socketPath: baselineSocket, duration: 2 });
    const reads: Load[] = [];
    const empties: Load[] = [];
    let maxAgeSeen = 0;
    const sampler = setInterval(() => {
      void apiRequest<{ cached_age_ms: number }>(api, 'GET', '/v1/status').then((r) => (maxAgeSeen = Math.max(maxAgeSeen, r.body.cached_age_ms ?? Infinity)), () => undefined);
    }, 250);
    try {
      for (let i = 0; i < ROUNDS; i++) {
        const pair: Array<() => Promise<void>> = [
          async () => void reads.push(await cannon({ url: 'http://junction/v1/status', socketPath: statusSocket, headers, duration: ROUND_S })),
          async () => void empties.push(await cannon({ url: 'http://baseline/empty', socketPath: baselineSocket, duration: ROUND_S })),
        ];
        if (i % 2) pair.reverse();
        for (const run of pair) await run();
        log(`round ${i + 1}: status ${Math.round(reads.at(-1)!.rps)} rps p99 ${reads.at(-1)!.p99} ms; empty route ${Math.round(empties.at(-1)!.rps)} rps p99 ${empties.at(-1)!.p99} ms`);
      }
    } finally {
      clearInterval(sampler);
    }

    // ---- small commits: one rule's port changes with each request ----
    await timedRequest(api, 'POST', '/v1/firewall/policies/a-to-b/rules', { id: COMMIT_RULE, action: 'accept', destination: ['10.2.0.12'], services: ['tcp/6000'] });
    let port = 6000;
    const commit = await cannon({
      url: `http://junction/v1/firewall/policies/a-to-b/rules/${COMMIT_RULE}`,
      socketPath: statusSocket,
      duration: COMMIT_S,
      requests: [{
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: JSON.stringify({ id: COMMIT_RULE, action: 'accept', destination: ['10.2.0.12'], services: [`tcp/${6001 + (port++ % 50_000)}`] }) }),
      }],
    });
    log(`commits: ${commit.requests} in ${COMMIT_S} s, p50 ${commit.p50} ms, p99 ${commit.p99} ms, non-2xx ${commit.non2xx}`);
    const bad = [...reads, ...empties, commit].reduce((n, l) => n + l.non2xx + l.errors, 0);
    if (bad) throw new Error(`${bad} requests failed or were not 2xx: the figures would not be of working requests`);

    const figures = {
      read_p99_ms: round(median(reads.map((r) => r.p99)), 2),
      read_p50_ms: round(median(reads.map((r) => r.p50)), 2),
      read_rps: round(median(reads.map((r) => r.rps)), 0),
      empty_rps: round(median(empties.map((r) => r.rps)), 0),
      empty_p99_ms: round(median(empties.map((r) => r.p99)), 2),
      read_rps_ratio: round(median(reads.map((r, i) => r.rps / empties[i]!.rps)), 3),
      commit_p99_ms: round(commit.p99, 1),
      commit_p50_ms: round(commit.p50, 1),
      commit_rps: round(commit.rps, 1),
      status_cached_age_max_ms: maxAgeSeen,
      status_bytes: statusBytes,
    };
    printTable(`api: autocannon, ${CONNECTIONS} connections over the Unix socket, ${ROUNDS} alternating rounds of ${ROUND_S} s`, [
      ['load', 'req/s (median)', 'p50 ms', 'p99 ms'],
      ['GET /v1/status (Junction)', figures.read_rps, figures.read_p50_ms, figures.read_p99_ms],
      ['GET /empty (bare fastify)', figures.empty_rps, round(median(empties.map((r) => r.p50)), 2), figures.empty_p99_ms],
      [`PUT one rule (commit), ${COMMIT_S} s`, figures.commit_rps, figures.commit_p50_ms, figures.commit_p99_ms],
    ]);
    const maxAge = status.max_age_ms;
    const pass = figures.read_p99_ms < TARGETS.read_p99_ms && figures.read_rps_ratio >= TARGETS.read_rps_ratio && maxAgeSeen <= maxAge;
    printTable('api: targets', [
      ['figure', 'value', 'target', ''],
      ['read_p99_ms', figures.read_p99_ms, `< ${TARGETS.read_p99_ms}`, figures.read_p99_ms < TARGETS.read_p99_ms ? 'pass' : 'FAIL'],
      ['read_rps_ratio', figures.read_rps_ratio, `>= ${TARGETS.read_rps_ratio}`, figures.read_rps_ratio >= TARGETS.read_rps_ratio ? 'pass' : 'FAIL'],
      ['status cached_age_ms seen (max)', maxAgeSeen, `<= ${maxAge} (max_age_ms)`, maxAgeSeen <= maxAge ? 'pass' : 'FAIL'],
      ['commit_p99_ms', figures.commit_p99_ms, 'reported', ''],
    ]);
    guard.release();
    await cleanup();
    emitResult({
      bench: 'api',
      date: started.toISOString(),
      ...figures,
      status_max_age_ms: maxAge,
      definitions: {
        read: `GET /v1/status with a bearer token, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${ROUND_S} s; figures are medians over rounds of autocannon's per-round p50/p99 and average req/s`,
        empty: 'GET /empty on bare fastify (same options, same socket server, same namespace), rounds alternating with the read rounds',
        read_rps_ratio: 'median over rounds of read rps / empty-route rps of the same round pair',
        commit: `PUT of one firewall rule with a new port per request for ${COMMIT_S} s at ${CONNECTIONS} connections (commits are serialized: p99 includes the queue)`,
        status_bytes: 'size of one GET /v1/status answer body in the lab (the empty route answers 2 bytes)',
        status_cached_age_max_ms: 'the largest cached_age_ms seen by a sampler reading status every 250 ms during the read rounds',
      },
      details: {
        reads: reads.map((r) => ({ ...r, rps: round(r.rps, 0) })),
        empties: empties.map((r) => ({ ...r, rps: round(r.rps, 0) })),
        commit,
        cpus: cpus().length,
        kernel: release(),
        loadavg_at_start: load,
        loadavg_at_end: loadavg().map((l) => round(l, 2)),
      },
      targets: { read_p99_ms: { max: TARGETS.read_p99_ms }, read_rps_ratio: { min: TARGETS.read_rps_ratio } },
      baselines: { read_rps: 'empty_rps', read_p99_ms: 'empty_p99_ms' },
      pass,
    });
    return 0;
  } catch (error) {
    log(`could not run: ${(error as Error)?.stack ?? String(error)}`);
    log(`junction.log (tail):\n${junctionLogTail(stateDir)}`);
    return 1;
  } finally {
    guard.release();
    await cleanup();
  }
}
