// `npm run bench -- rules-scale` (design/performance.md): how long a commit
// of a big rule base takes from the API request to the kernel, and how long
// one rule added or deleted takes while 100k rules are loaded.
//
//   commit<N>_s   PUT /v1/config of the demo document plus a vpc-a -> ccnn
//                 policy of N rules (1k, 10k, 100k), starting each time from
//                 the demo document alone; request to response, which
//                 returns once nft has the table.
//   single_*_ms   with the 100k-rule policy loaded: POST of one new rule at
//                 the head of the policy, then DELETE of it, repeated.
//   direct100k_s  the baseline: `nft -j -f` of exactly the ruleset Junction
//                 renders for the 100k document (rendered in this process by
//                 the same code, with the capabilities Junction reports),
//                 loaded into an empty scratch namespace. Median of runs.
//   api_overhead_ratio  commit100k_s / direct100k_s.
//   direct_single_ms  the floor under single_*_ms: with that ruleset loaded
//                 in the scratch namespace, `nft -j -f` of a one-element add
//                 (and of its delete) to the set of the policy's first run,
//                 the kernel change a single-rule commit makes.
//
// Safety: no traffic at all; Junction runs in the lab's router namespace and
// the baseline's nft in a scratch namespace named after the lab, so the lab's
// teardown (also on SIGINT/SIGTERM and by the watchdog) removes both.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { labStateDir } from '../lab-kit/command.js';
import { Lab } from '../lab-kit/lab.js';
import { SystemCommandRunner } from '../../appliance/platform/command-runner.js';
import { createLogger } from '../../appliance/platform/log.js';
import { createAppliance } from '../../appliance/main/appliance.js';
import type { Capabilities } from '../../appliance/platform/capabilities.js';
import type { FirewallArtifact } from '../../appliance/subsystems/firewall/index.js';
import type { CompiledRuleset } from '../../rules/index.js';
import { LAB_API_PORT } from '../lab-kit/command.js';
import { tenKDocument } from './forward.js';
import { demoDocument, junctionLogTail, startLabJunction, timedRequest } from './lab-junction.js';
import { emitResult, median, printTable, round, type Figure } from './report.js';
import { guardBenchmark, tearDownLabs } from './guards.js';

const SCALES = [1_000, 10_000, 100_000] as const;
/**
 * single-rule adds (and as many deletes) at 100k rules; BENCH_SINGLE_RUNS overrides, 3-200. 25 pairs:
 * with 8, the p50 of one run moved by 20 ms between runs on this VM, and the p99 was the maximum.
 */
const SINGLE_RUNS = Math.min(Math.max(Number(process.env.BENCH_SINGLE_RUNS) || 25, 3), 200);
const DIRECT_RUNS = 3;
const DIRECT_SINGLE_RUNS = SINGLE_RUNS;
const POLICY = 'a-to-ccnn';
const TARGETS = { commit100k_s: 2, single_p50_ms: 50, api_overhead_ratio: 1.5 };
const WATCHDOG_MS = 10 * 60_000;

const log = (line: string) => process.stderr.write(`[rules-scale] ${line}\n`);

/** The value below which `p` of the sorted samples lie (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Exactly the firewall batch Junction renders for `document` (same code, same capabilities, same API port). */
function renderFirewall(document: unknown, capabilities: Capabilities, work: string): CompiledRuleset {
  const appliance = createAppliance({ stateDir: work, runner: new SystemCommandRunner(), capabilities, log: createLogger('bench', 'error'), apiPort: LAB_API_PORT });
  try {
    const artifact = appliance.reconciler.prepare(document).artifacts.get('firewall') as FirewallArtifact;
    return artifact.ruleset;
  } finally {
    appliance.close();
  }
}

/** The stage timings a commit answers with (core/commit.ts CommitTimings), flattened: prepare, plan, apply.<subsystem>, store. */
type CommitStages = Record<string, number>;
function timingsOf(body: unknown): CommitStages {
  const t = (body as { timings?: { prepare_ms: number; plan_ms: number; apply_ms: Record<string, number>; store_ms: number } }).timings;
  if (!t) return {};
  return { prepare: t.prepare_ms, plan: t.plan_ms, ...Object.fromEntries(Object.entries(t.apply_ms).map(([name, ms]) => [`apply.${name}`, ms])), store: t.store_ms };
}
function stagesP50(all: CommitStages[]): CommitStages {
  const names = [...new Set(all.flatMap((t) => Object.keys(t)))];
  return Object.fromEntries(names.map((name) => [name, round(percentile(all.map((t) => t[name] ?? 0), 50), 1)]));
}

export async function runRulesScale(): Promise<number> {
  const prefix = `jrs${process.pid % 100000}`;
  const stateDir = labStateDir(prefix);
  const work = mkdtempSync(join(tmpdir(), 'jrules-scale-'));
  const scratch = `${prefix}-nftbase`;
  const labs: Lab[] = [];
  const runner = new SystemCommandRunner();
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await tearDownLabs(labs, [prefix], log); // also removes the scratch namespace (<prefix>-*)
      rmSync(stateDir, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
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
    const demo = demoDocument();
    await timedRequest(api, 'PUT', '/v1/config?comment=bench%20rules-scale%3A%20demo', demo);
    const status = await timedRequest(api, 'GET', '/v1/status');
    const capabilities = (status.body as { capabilities: Capabilities }).capabilities;

    // ---- the baseline's ruleset: what Junction renders for the 100k document, and a scratch namespace ----
    const top = SCALES[SCALES.length - 1];
    const batch = join(work, 'ruleset.json');
    const rendered = renderFirewall(tenKDocument(demo, top), capabilities, join(work, 'render'));
    writeFileSync(batch, JSON.stringify({ nftables: rendered.nftables }));
    // the set of the policy's first run (it holds bench-0), and its first element as the template of a new one
    const firstRun = rendered.ruleCounters.sets.find((set) => set.owners[0] === 'bench-0');
    const firstSet = (rendered.nftables as Array<{ add?: { set?: { name: string; elem?: unknown[] } } }>).find((c) => c.add?.set?.name === firstRun?.name)?.add?.set;
    if (!firstSet?.elem?.length) throw new Error('the rendering has no set holding rule bench-0');
    const template = JSON.stringify(firstSet.elem[0]);
    const added = await runner.run('ip', ['netns', 'add', scratch]);
    if (added.code !== 0) throw new Error(`ip netns add ${scratch}: ${added.stderr.trim()}`);
    const direct: number[] = [];
    /** nft -j -f of the whole rendering into the empty scratch namespace, timed */
    const loadDirect = async () => {
      await runner.run('ip', ['netns', 'exec', scratch, 'nft', 'flush', 'ruleset']);
      const t0 = process.hrtime.bigint();
      const result = await runner.run('ip', ['netns', 'exec', scratch, 'nft', '-j', '-f', batch], { timeoutMs: 120_000 });
      if (result.code !== 0) throw new Error(`nft -j -f of the rendering failed: ${result.stderr.slice(0, 500)}`);
      direct.push(Number(process.hrtime.bigint() - t0) / 1e9);
    };
    const directSingle: number[] = [];
    /** nft -j -f of one element add, then its delete, in the set of the policy's first run in the loaded rendering, timed */
    const elementDirect = async (i: number) => {
      // bench-0's element (172.16.0.0, tcp/10000) with another host and port, in whatever shape the set has
      const element = JSON.parse(template.replace('"172.16.0.0"', `"192.0.2.${200 + (i % 50)}"`).replace(',10000', `,${30_000 + i}`)) as unknown;
      for (const verb of ['add', 'delete'] as const) {
        const file = join(work, `single-${verb}.json`);
        writeFileSync(file, JSON.stringify({ nftables: [{ [verb]: { element: { family: 'inet', table: 'junction', name: firstSet.name, elem: [element] } } }] }));
        const t0 = process.hrtime.bigint();
        const result = await runner.run('ip', ['netns', 'exec', scratch, 'nft', '-j', '-f', file], { timeoutMs: 60_000 });
        if (result.code !== 0) throw new Error(`nft -j -f of one element ${verb} failed: ${result.stderr.slice(0, 500)}`);
        directSingle.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    };

    // ---- commits of 1k, 10k, 100k rules, each from the demo document; the baseline loads around the 100k one ----
    const commits: Record<number, { commitS: number; removeS: number; actions: string; timings: unknown }> = {};
    for (const n of SCALES) {
      const document = tenKDocument(demo, n);
      if (n === top) await loadDirect();
      const commit = await timedRequest(api, 'PUT', `/v1/config?comment=bench%20rules-scale%3A%20${n}`, document);
      const actions = ((commit.body as { actions?: { firewall?: string[] } }).actions?.firewall ?? []).join('; ');
      log(`${n} rules committed in ${(commit.ms / 1000).toFixed(3)} s (${actions})`);
      if (n === top) {
        commits[n] = { commitS: commit.ms / 1000, removeS: NaN, actions, timings: timingsOf(commit.body) };
        for (let i = 1; i < DIRECT_RUNS; i++) await loadDirect();
        break;
      }
      const back = await timedRequest(api, 'PUT', `/v1/config?comment=bench%20rules-scale%3A%20back%20to%20demo`, tenKDocument(demo, 1));
      commits[n] = { commitS: commit.ms / 1000, removeS: back.ms / 1000, actions, timings: timingsOf(commit.body) };
      log(`back to one rule in ${(back.ms / 1000).toFixed(3)} s`);
    }
    const directS = median(direct);
    log(`nft -j -f of the same ${top}-rule rendering: ${direct.map((v) => v.toFixed(3)).join(', ')} s`);

    // ---- single rule add / delete at 100k, each pair next to the same change made by nft directly ----
    const adds: number[] = [];
    const deletes: number[] = [];
    const singleTimings: CommitStages[] = [];
    for (let i = 0; i < SINGLE_RUNS; i++) {
      const rule = { id: `single-${i}`, action: 'drop', destination: [`192.0.2.${1 + (i % 250)}`], services: [`tcp/${20_000 + i}`] };
      const add = await timedRequest(api, 'POST', `/v1/firewall/policies/${POLICY}/rules?position=0`, rule);
      const remove = await timedRequest(api, 'DELETE', `/v1/firewall/policies/${POLICY}/rules/${rule.id}`);
      adds.push(add.ms);
      deletes.push(remove.ms);
      singleTimings.push(timingsOf(add.body), timingsOf(remove.body));
      if (i < DIRECT_SINGLE_RUNS) await elementDirect(i);
    }
    const singles = [...adds, ...deletes];
    log(`single rule: add p50 ${percentile(adds, 50).toFixed(1)} ms, delete p50 ${percentile(deletes, 50).toFixed(1)} ms; nft directly: p50 ${percentile(directSingle, 50).toFixed(1)} ms`);

    const figures = {
      commit1k_s: round(commits[1_000]!.commitS, 3),
      commit10k_s: round(commits[10_000]!.commitS, 3),
      commit100k_s: round(commits[100_000]!.commitS, 3),
      direct100k_s: round(directS, 3),
      api_overhead_ratio: round(commits[100_000]!.commitS / directS, 3),
      single_p50_ms: round(percentile(singles, 50), 1),
      single_p99_ms: round(percentile(singles, 99), 1),
      single_add_p50_ms: round(percentile(adds, 50), 1),
      single_delete_p50_ms: round(percentile(deletes, 50), 1),
      direct_single_p50_ms: round(percentile(directSingle, 50), 1),
      single_overhead_ratio: round(percentile(singles, 50) / percentile(directSingle, 50), 3),
    };
    printTable('rules-scale: commits through the API (PUT /v1/config, from the demo document)', [
      ['rules', 'commit s', 'back to 1 rule s', 'what nft did'],
      ...SCALES.map((n): Figure[] => [n, round(commits[n]!.commitS, 3), Number.isNaN(commits[n]!.removeS) ? null : round(commits[n]!.removeS, 3), commits[n]!.actions]),
    ]);
    printTable(`rules-scale: one rule added (POST, position 0) and deleted at ${top} rules, ${SINGLE_RUNS} each`, [
      ['', 'p50 ms', 'p99 ms', 'max ms'],
      ['add', round(percentile(adds, 50), 1), round(percentile(adds, 99), 1), round(Math.max(...adds), 1)],
      ['delete', round(percentile(deletes, 50), 1), round(percentile(deletes, 99), 1), round(Math.max(...deletes), 1)],
      ['both', figures.single_p50_ms, figures.single_p99_ms, round(Math.max(...singles), 1)],
      ['nft -j -f of one element add/delete (direct)', figures.direct_single_p50_ms, round(percentile(directSingle, 99), 1), round(Math.max(...directSingle), 1)],
    ]);
    const pass = figures.commit100k_s < TARGETS.commit100k_s && figures.single_p50_ms < TARGETS.single_p50_ms && figures.api_overhead_ratio <= TARGETS.api_overhead_ratio;
    printTable('rules-scale: targets', [
      ['figure', 'value', 'target', ''],
      ['commit100k_s', figures.commit100k_s, `< ${TARGETS.commit100k_s}`, figures.commit100k_s < TARGETS.commit100k_s ? 'pass' : 'FAIL'],
      ['single_p50_ms', figures.single_p50_ms, `< ${TARGETS.single_p50_ms}`, figures.single_p50_ms < TARGETS.single_p50_ms ? 'pass' : 'FAIL'],
      ['api_overhead_ratio', figures.api_overhead_ratio, `<= ${TARGETS.api_overhead_ratio}`, figures.api_overhead_ratio <= TARGETS.api_overhead_ratio ? 'pass' : 'FAIL'],
    ]);
    guard.release();
    await cleanup();
    emitResult({
      bench: 'rules-scale',
      date: started.toISOString(),
      ...figures,
      remove1k_s: round(commits[1_000]!.removeS, 3),
      remove10k_s: round(commits[10_000]!.removeS, 3),
      definitions: {
        commitN_s: 'PUT /v1/config over the Unix socket, demo document -> demo plus an N-rule policy, request to response (the kernel has it then)',
        single_ms: `with ${top} rules loaded: POST one rule at position 0 and DELETE it, ${SINGLE_RUNS} times; p50/p99 over all ${SINGLE_RUNS * 2} requests`,
        direct100k_s: `median of ${DIRECT_RUNS} (one right before the API commit, the others right after): nft -j -f of the same rendered ${top}-rule ruleset into an empty namespace`,
        api_overhead_ratio: 'commit100k_s / direct100k_s',
        direct_single_p50_ms: `p50 of ${DIRECT_SINGLE_RUNS} adds and ${DIRECT_SINGLE_RUNS} deletes of one element of the set of the policy's first run (${firstSet.name}) by nft -j -f, with the ${top}-rule rendering loaded in the scratch namespace, each pair right after an API pair`,
        single_overhead_ratio: 'single_p50_ms / direct_single_p50_ms',
      },
      details: {
        actions: Object.fromEntries(SCALES.map((n) => [n, commits[n]!.actions])),
        // where Junction's time went (the commit's own timings, ms): each scale's commit, and the p50 of each stage over the single-rule commits
        commit_timings_ms: Object.fromEntries(SCALES.map((n) => [n, commits[n]!.timings])),
        single_timings_p50_ms: stagesP50(singleTimings),
        direct_runs_s: direct.map((s) => round(s, 3)),
        direct_single_ms: directSingle.map((v) => round(v, 1)),
        single_add_ms: adds.map((v) => round(v, 1)),
        single_delete_ms: deletes.map((v) => round(v, 1)),
        cpus: cpus().length,
        kernel: release(),
        loadavg_at_start: load,
        loadavg_at_end: loadavg().map((l) => round(l, 2)),
      },
      targets: {
        commit100k_s: { max: TARGETS.commit100k_s },
        single_p50_ms: { max: TARGETS.single_p50_ms },
        api_overhead_ratio: { max: TARGETS.api_overhead_ratio },
      },
      baselines: { commit100k_s: 'direct100k_s', single_p50_ms: 'direct_single_p50_ms' },
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
