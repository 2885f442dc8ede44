// `npm run bench -- forward` (design/performance.md): TCP throughput from a
// VPC host (a1, 10.1.0.11) to the internet host (198.18.0.2) with iperf3, 1 and
// 4 parallel flows, in three set-ups:
//
//   baseline  a lab with `plainRouting: true`: the router namespace only
//             routes (the lab gives it addresses, routes and ip_forward); no
//             nftables ruleset at all.
//   stateful  Junction running in the router namespace of a second lab, with
//             the demo config (NAT egress, stateful inter-VPC policy) applied
//             through the API.
//   10k       the same Junction after committing the demo config plus a
//             vpc-a -> ccnn policy of 10,000 rules through the API (PUT
//             /v1/config, timed). The NAT egress entry gets
//             `allow_forward: false`, so the flow's first packet is not
//             accepted by the egress allow set ahead of the zone dispatch but
//             goes through the policy chain, whose last rule accepts it.
//
// The machine is shared and noisy, so both labs are up at the same time and
// baseline and Junction runs are interleaved (ABBA order per round): slow
// drift of the machine's load hits both sides alike. Figures are medians.
//
// Safety: every iperf3 and ping runs inside a lab namespace (Lab.exec checks
// it exists), every run is bounded in time, the whole benchmark has a
// watchdog, and both labs (with the Junction process the lab spawned) are
// taken down in `finally`, on SIGINT/SIGTERM and by the watchdog.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { apiRequest, type ApiTarget } from '../../appliance/main/api-client.js';
import { labStateDir } from '../lab-kit/command.js';
import { Lab } from '../lab-kit/lab.js';
import { addressing } from '../lab-kit/topology.js';
import { iperf3Client, iperf3Server, ping, type Iperf3Server } from '../lab-kit/traffic.js';
import { REPO_ROOT, emitResult, median, printTable, round, type Figure } from './report.js';
import { guardBenchmark, tearDownLabs } from './guards.js';
import { demoDocument, startLabJunction, type DemoDocument } from './lab-junction.js';

const SECONDS = 4; // each iperf3 run
/** runs per set-up and flow count (median of these); BENCH_FORWARD_ROUNDS overrides, 1-15 */
const ROUNDS = Math.min(Math.max(Number(process.env.BENCH_FORWARD_ROUNDS) || 3, 1), 15);
const FLOWS = [1, 4] as const;
const RULES = 10_000;
const IPERF_PORT = 5201;
const TARGET_RATIO_10K = 0.9;
const WATCHDOG_MS = 15 * 60_000;
const INTERNET_HOST = addressing.internet.host;
const CLIENT = 'a1' as const;
const CLIENT_ADDR = addressing.vpcs.a.hosts.a1;
const MATCH_RULE_ID = 'bench-iperf3';
const POLICY_NAME = 'a-to-ccnn';

type Setup = 'baseline' | 'stateful' | '10k';
interface Sample {
  setup: Setup;
  flows: number;
  mbps: number;
  retransmits: number | undefined;
}

const log = (message: string) => process.stderr.write(`[forward] ${message}\n`);

/**
 * The demo config plus a vpc-a -> ccnn policy of `count` rules. All but the
 * last are on hosts and ports the benchmark never uses (blocks of 1,000 drop
 * and accept rules alternating, as a hand-written rule base would have them);
 * the last accepts the iperf3 flow. The policy's default is drop, and the NAT
 * egress no longer allows forwarding by itself, so the flow is admitted only
 * by the policy. vpc-b keeps its egress through a policy without rules.
 */
export function tenKDocument(demo: DemoDocument, count: number): DemoDocument {
  const doc = structuredClone(demo);
  for (const egress of doc.nat?.egress ?? []) egress.allow_forward = false;
  const rules: Array<Record<string, unknown>> = [];
  for (let i = 0; i < count - 1; i++) {
    const block = Math.floor(i / 1000);
    // 172.16.0.0/12 hosts, one per rule, each with its own port: no two rules overlap
    const host = `172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    rules.push({
      id: `bench-${i}`,
      action: block % 2 === 0 ? 'drop' : 'accept',
      destination: [host],
      services: [`tcp/${10_000 + (i % 50_000)}`],
    });
  }
  rules.push({
    id: MATCH_RULE_ID,
    action: 'accept',
    source: [addressing.vpcs.a.subnet],
    destination: [INTERNET_HOST],
    services: [`tcp/${IPERF_PORT}`],
    comment: 'the benchmark flow',
  });
  doc.firewall ??= { policies: [] };
  doc.firewall.policies.push(
    { name: POLICY_NAME, from: 'vpc-a', to: 'ccnn', default_action: 'drop', rules },
    { name: 'b-to-ccnn', from: 'vpc-b', to: 'ccnn', default_action: 'accept', rules: [] },
  );
  return doc;
}

async function nftJson(lab: Lab, args: string[]): Promise<{ nftables?: Array<Record<string, unknown>> } | undefined> {
  const result = await lab.exec('router', ['nft', '-j', ...args], { timeoutMs: 30_000 });
  if (result.code !== 0) return undefined;
  try {
    return JSON.parse(result.stdout) as { nftables?: Array<Record<string, unknown>> };
  } catch {
    return undefined;
  }
}

/** A rule's packets as GET /v1/status reports them (the sum of its set elements' counters). */
async function rulePackets(api: ApiTarget, id: string): Promise<number | undefined> {
  const status = await apiRequest<{ firewall?: { rules?: Array<{ id: string; packets: number }> } }>(api, 'GET', '/v1/status', undefined, { timeoutMs: 30_000 });
  return status.body?.firewall?.rules?.find((r) => r.id === id)?.packets;
}

/** A named counter (a policy's default action). */
async function counterPackets(lab: Lab, name: string): Promise<number | undefined> {
  const out = await nftJson(lab, ['list', 'counter', 'inet', 'junction', name]);
  const entry = out?.nftables?.find((e) => 'counter' in e)?.counter as { packets?: number } | undefined;
  return entry?.packets;
}

async function chainRuleCount(lab: Lab, chain: string): Promise<number | undefined> {
  const out = await nftJson(lab, ['list', 'chain', 'inet', 'junction', chain]);
  return out?.nftables?.filter((e) => 'rule' in e).length;
}

async function timedPut(api: ApiTarget, body: string, contentType: string, comment: string, dryRun = false): Promise<{ seconds: number; status: number; text: string }> {
  const start = process.hrtime.bigint();
  const query = `comment=${encodeURIComponent(comment)}${dryRun ? '&dry_run=true' : ''}`;
  const response = await apiRequest(api, 'PUT', `/v1/config?${query}`, body, { contentType, timeoutMs: 180_000 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { seconds, status: response.status, text: response.text };
}

async function measure(lab: Lab, setup: Setup, flows: number): Promise<Sample> {
  // iperf3Client bounds the run (exec timeout: seconds + 20 s) and throws on failure
  const result = await iperf3Client(lab, CLIENT, INTERNET_HOST, { seconds: SECONDS, parallel: flows, port: IPERF_PORT });
  const sample = { setup, flows, mbps: result.bitsPerSecond / 1e6, retransmits: result.retransmits };
  log(`${setup.padEnd(8)} ${flows} flow${flows > 1 ? 's' : ' '}  ${sample.mbps.toFixed(0).padStart(6)} Mbit/s  retr ${sample.retransmits ?? '-'}`);
  return sample;
}

/** Interleaved rounds: per round and flow count, baseline and Junction in alternating order. */
async function interleaved(baseline: Lab, junction: Lab, setup: Setup, samples: Sample[]): Promise<void> {
  for (let round = 0; round < ROUNDS; round++) {
    for (const flows of FLOWS) {
      const order: Array<[Lab, Setup]> = [[baseline, 'baseline'], [junction, setup]];
      if ((round + (flows === 1 ? 0 : 1)) % 2 === 1) order.reverse();
      for (const [lab, which] of order) samples.push(await measure(lab, which, flows));
    }
  }
}

async function mustReach(lab: Lab, what: string): Promise<void> {
  const result = await ping(lab, CLIENT, INTERNET_HOST, { count: 3, timeoutS: 5 });
  if (!result.reachable) throw new Error(`${what}: ${CLIENT} cannot reach ${INTERNET_HOST}:\n${result.output}`);
}

export async function runForward(): Promise<number> {
  const cli = join(REPO_ROOT, 'dist', 'appliance', 'cli.js');
  if (!existsSync(cli)) {
    process.stderr.write(`${cli} is missing; build first (npx tsc -p tsconfig.json, or npm run bench which runs setup)\n`);
    return 1;
  }
  const base = `jb${process.pid}`;
  const plainPrefix = `${base}p`;
  const junctionPrefix = `${base}j`;
  const stateDir = labStateDir(junctionPrefix);
  const labs: Lab[] = [];
  const servers: Iperf3Server[] = [];

  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const server of servers) await server.close().catch(() => undefined);
      // Lab.down() also ends the Junction process the lab spawned (SIGTERM, then SIGKILL)
      await tearDownLabs(labs, [plainPrefix, junctionPrefix], log);
      rmSync(stateDir, { recursive: true, force: true });
    })());
  const guard = guardBenchmark(cleanup, log, WATCHDOG_MS);

  const started = new Date();
  const load = loadavg().map((l) => round(l, 2));
  try {
    // ---- the two labs ----
    log(`lab ${plainPrefix}: plain routing, no ruleset`);
    const plain = await Lab.up({ prefix: plainPrefix, plainRouting: true });
    labs.push(plain);
    const ruleset = await plain.exec('router', ['nft', 'list', 'ruleset'], { check: true });
    const baselineRulesetEmpty = ruleset.stdout.trim() === '';
    if (!baselineRulesetEmpty) throw new Error(`the baseline router namespace has a ruleset:\n${ruleset.stdout}`);
    await mustReach(plain, 'baseline');

    log(`lab ${junctionPrefix}: Junction in the router namespace`);
    const lab = await Lab.up({ prefix: junctionPrefix });
    labs.push(lab);
    const { api } = await startLabJunction(lab, stateDir);

    const status = await apiRequest<{ capabilities?: { flowtable?: boolean; notes?: string[] } }>(api, 'GET', '/v1/status', undefined, { timeoutMs: 30_000 });
    const flowtable = status.body?.capabilities?.flowtable ?? null;
    log(`flowtables available: ${flowtable}`);

    const demo = demoDocument();
    const demoCommit = await timedPut(api, JSON.stringify(demo), 'application/json', 'bench forward: demo');
    if (demoCommit.status !== 200) throw new Error(`the demo config was refused (${demoCommit.status}): ${demoCommit.text}`);
    log(`demo config committed in ${demoCommit.seconds.toFixed(3)} s`);
    await mustReach(lab, 'stateful (demo config)');

    servers.push(await iperf3Server(plain, 'inet', { port: IPERF_PORT, lifetimeS: 900 }));
    servers.push(await iperf3Server(lab, 'inet', { port: IPERF_PORT, lifetimeS: 900 }));

    const samples: Sample[] = [];
    // ---- stateful, interleaved with the baseline ----
    await interleaved(plain, lab, 'stateful', samples);

    // ---- 10,000 rules through the API ----
    const tenK = tenKDocument(demo, RULES);
    // compile and check only (no kernel, no revision): separates Junction's own work from the apply
    const tenKDry = await timedPut(api, JSON.stringify(tenK), 'application/json', `bench forward: ${RULES} rules (dry run)`, true);
    if (tenKDry.status !== 200) throw new Error(`the ${RULES}-rule config was refused (${tenKDry.status}): ${tenKDry.text.slice(0, 2000)}`);
    log(`${RULES} rules dry run (plan only) in ${tenKDry.seconds.toFixed(3)} s`);
    const tenKCommit = await timedPut(api, JSON.stringify(tenK), 'application/json', `bench forward: ${RULES} rules`);
    if (tenKCommit.status !== 200) throw new Error(`the ${RULES}-rule config was refused (${tenKCommit.status}): ${tenKCommit.text.slice(0, 2000)}`);
    log(`${RULES} rules committed in ${tenKCommit.seconds.toFixed(3)} s`);
    const policyChainRules = await chainRuleCount(lab, `pol_${POLICY_NAME}`);
    const hitsBefore = (await rulePackets(api, MATCH_RULE_ID)) ?? 0;
    await mustReach(lab, `${RULES} rules (icmp is not allowed by the policy, so this must fail)`).then(
      () => {
        throw new Error(`ping from ${CLIENT} still passes with the ${RULES}-rule policy: the policy is not deciding`);
      },
      () => undefined,
    );
    await interleaved(plain, lab, '10k', samples);
    const hitsAfter = (await rulePackets(api, MATCH_RULE_ID)) ?? 0;
    const defaultDrops = await counterPackets(lab, `default_${POLICY_NAME}`);
    const matchRuleHits = hitsAfter - hitsBefore;
    // each iperf3 test opens 1 control + N data connections; the rule sees their first packets only
    if (matchRuleHits <= 0) throw new Error(`the rule that accepts the iperf3 flow (${MATCH_RULE_ID}) was never hit: the ${RULES}-rule policy did not decide`);

    // ---- figures ----
    const med = (setup: Setup, flows: number) => median(samples.filter((s) => s.setup === setup && s.flows === flows).map((s) => s.mbps));
    const mbps = {
      baseline_1: med('baseline', 1), baseline_4: med('baseline', 4),
      stateful_1: med('stateful', 1), stateful_4: med('stateful', 4),
      '10k_1': med('10k', 1), '10k_4': med('10k', 4),
    };
    const ratio = (setup: 'stateful' | '10k', flows: number) => mbps[`${setup}_${flows}` as keyof typeof mbps] / mbps[`baseline_${flows}` as keyof typeof mbps];
    const ratioStateful1 = ratio('stateful', 1);
    const ratioStateful4 = ratio('stateful', 4);
    const ratio10k1 = ratio('10k', 1);
    const ratio10k4 = ratio('10k', 4);
    const ratioStateful = (ratioStateful1 + ratioStateful4) / 2;
    const ratio10k = (ratio10k1 + ratio10k4) / 2;
    const spread = (setup: Setup, flows: number) => {
      const v = samples.filter((s) => s.setup === setup && s.flows === flows).map((s) => s.mbps);
      return `${Math.round(Math.min(...v))}-${Math.round(Math.max(...v))}`;
    };

    const rows: Figure[][] = [['set-up', 'flows', 'median Mbit/s', 'min-max', 'runs', 'ratio vs baseline']];
    for (const setup of ['baseline', 'stateful', '10k'] as Setup[]) {
      for (const flows of FLOWS) {
        const n = samples.filter((s) => s.setup === setup && s.flows === flows).length;
        rows.push([setup, flows, Math.round(med(setup, flows)), spread(setup, flows), n,
          setup === 'baseline' ? null : round(ratio(setup, flows), 3)]);
      }
    }
    printTable(`forward: iperf3 ${CLIENT} (${CLIENT_ADDR}) -> ${INTERNET_HOST}, ${SECONDS} s per run, medians`, rows);
    printTable('forward: summary', [
      ['figure', 'value'],
      ['ratio_stateful (mean of 1- and 4-flow ratios)', round(ratioStateful, 3)],
      ['ratio_10k (mean of 1- and 4-flow ratios)', round(ratio10k, 3)],
      [`commit of ${RULES} rules through the API (s)`, round(tenKCommit.seconds, 3)],
      [`the same PUT with ?dry_run=true (plan only, s)`, round(tenKDry.seconds, 3)],
      [`rules in the nft chain pol_${POLICY_NAME}`, policyChainRules ?? null],
      [`hits on ${MATCH_RULE_ID} (first packets of iperf3 connections)`, matchRuleHits],
      ['flowtables available', flowtable],
      [`target ratio_10k >= ${TARGET_RATIO_10K}`, ratio10k >= TARGET_RATIO_10K ? 'pass' : 'FAIL'],
    ]);

    guard.release();
    await cleanup();
    emitResult({
      bench: 'forward',
      date: started.toISOString(),
      mbps_baseline_1: round(mbps.baseline_1, 1),
      mbps_baseline_4: round(mbps.baseline_4, 1),
      mbps_stateful_1: round(mbps.stateful_1, 1),
      mbps_stateful_4: round(mbps.stateful_4, 1),
      mbps_10k_1: round(mbps['10k_1'], 1),
      mbps_10k_4: round(mbps['10k_4'], 1),
      ratio_stateful: round(ratioStateful, 3),
      ratio_stateful_1: round(ratioStateful1, 3),
      ratio_stateful_4: round(ratioStateful4, 3),
      ratio_10k: round(ratio10k, 3),
      ratio_10k_1: round(ratio10k1, 3),
      ratio_10k_4: round(ratio10k4, 3),
      commit10k_s: round(tenKCommit.seconds, 3),
      rules: RULES,
      flowtable,
      definitions: {
        mbps: 'median over the runs of iperf3 receiver throughput, Mbit/s',
        ratio_x_n: 'mbps_x_n / mbps_baseline_n',
        ratio_x: 'mean of ratio_x_1 and ratio_x_4',
        commit10k_s: 'wall time of PUT /v1/config (demo + 10k-rule policy) over the Unix socket, request to response',
        baseline: 'lab with plainRouting: routing only, empty nftables ruleset; runs interleaved with the Junction runs',
      },
      details: {
        seconds_per_run: SECONDS,
        runs_per_figure: ROUNDS,
        baseline_runs_per_figure: ROUNDS * 2,
        demo_commit_s: round(demoCommit.seconds, 3),
        dry_run10k_s: round(tenKDry.seconds, 3),
        request_bytes10k: JSON.stringify(tenK).length,
        policy_chain_rules: policyChainRules ?? null,
        match_rule_hits: matchRuleHits,
        policy_default_drops: defaultDrops ?? null,
        cpus: cpus().length,
        kernel: release(),
        loadavg_at_start: load,
        loadavg_at_end: loadavg().map((l) => round(l, 2)),
        samples: samples.map((s) => ({ ...s, mbps: round(s.mbps, 1) })),
      },
      targets: { ratio_10k: { min: TARGET_RATIO_10K } },
      pass: ratio10k >= TARGET_RATIO_10K,
    });
    return 0;
  } catch (error) {
    log(`could not run: ${(error as Error)?.stack ?? String(error)}`);
    if (existsSync(join(stateDir, 'junction.log'))) {
      const tail = readFileSync(join(stateDir, 'junction.log'), 'utf8').split('\n').slice(-15).join('\n');
      log(`junction.log (tail):\n${tail}`);
    }
    return 1;
  } finally {
    guard.release();
    await cleanup();
  }
}
