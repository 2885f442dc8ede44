// Shared pieces of the benchmarks (design/performance.md): a readable table on
// stdout, the result written to bench/results/<name>.json, the one-line JSON
// summary that must be the LAST line of stdout, and `report`, which draws every
// stored result as a hand-written SVG bar chart (no dependencies).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTENDED_STEAL_PCT, hostLoadSince, markHost, QUIET_REFERENCE_LOOP_MS, type HostLoad, type HostMark } from './host-load.js';

const here = dirname(fileURLToPath(import.meta.url));
/** test/bench -> the repository root */
export const REPO_ROOT = resolve(here, '..', '..');
export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');

export type Figure = string | number | boolean | null;
export interface BenchResult {
  bench: string;
  pass: boolean;
  /** how busy the host was during the run (host-load.ts); emitResult adds it */
  host?: HostLoad;
  [field: string]: unknown;
}

/** Set by startRun(): what the host looked like when the run began. */
let runStart: HostMark | undefined;

/** Call before a benchmark starts (run.ts does): emitResult reports the host's load since then. */
export function startRun(): void {
  runStart = markHost();
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Two-sided 95 % Student t quantiles for 1..30 degrees of freedom (beyond: 1.96). */
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

export interface PairedRatio {
  n: number;
  median: number;
  /** geometric mean of the ratios */
  geomean: number;
  /** 95 % confidence interval of the geometric mean (t on the log ratios); null below 2 pairs */
  ci95: [number, number] | null;
}

/**
 * Ratios of runs taken next to each other (subject / baseline, same round).
 * Pairing cancels the slow drift of a noisy machine that unpaired medians
 * keep; the interval says how far the figure can be trusted.
 */
export function pairedRatio(pairs: Array<[subject: number, baseline: number]>): PairedRatio {
  const logs = pairs.filter(([a, b]) => a > 0 && b > 0).map(([a, b]) => Math.log(a / b));
  const n = logs.length;
  if (n === 0) return { n, median: NaN, geomean: NaN, ci95: null };
  const mean = logs.reduce((x, y) => x + y, 0) / n;
  const geomean = Math.exp(mean);
  const ratios = logs.map(Math.exp);
  if (n < 2) return { n, median: median(ratios), geomean, ci95: null };
  const sd = Math.sqrt(logs.reduce((x, y) => x + (y - mean) ** 2, 0) / (n - 1));
  const half = (T95[n - 2] ?? 1.96) * (sd / Math.sqrt(n));
  return { n, median: median(ratios), geomean, ci95: [Math.exp(mean - half), Math.exp(mean + half)] };
}

/** Rounds to `digits` decimals (numbers in the JSON stay readable). */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Prints rows as an aligned text table (first row is the header). */
export function printTable(title: string, rows: Figure[][]): void {
  const text = rows.map((row) => row.map((cell) => (cell === null ? '-' : String(cell))));
  const widths: number[] = [];
  for (const row of text) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const out = [`\n${title}`, line(text[0] ?? []), rule, ...text.slice(1).map(line), ''];
  process.stdout.write(out.join('\n') + '\n');
}

/**
 * Writes bench/results/<bench>.json and prints the one-line JSON summary.
 * Call it last: nothing may be written to stdout after it.
 */
export function emitResult(measured: BenchResult): void {
  const host = runStart && hostLoadSince(runStart);
  const result: BenchResult = host ? { ...measured, host } : measured;
  if (host?.contended) process.stderr.write(`note: the hypervisor took ${host.cpu_steal_pct}% of this machine's CPU time during the run: absolute figures are not comparable with a quiet run's; the same-run ratios mostly are\n`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${result.bench}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  process.stderr.write(`results written to ${file}\n`);
  process.stdout.write(JSON.stringify(result) + '\n');
}

// ---------------------------------------------------------------- SVG report

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function fmt(v: number): string {
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(3).replace(/\.?0+$/, '') || '0';
}

/** The unit a figure is drawn in, from its name; figures without one (counts, ids) are not drawn. */
function unitOf(key: string): string | undefined {
  if (key.startsWith('ratio_') || key.endsWith('_ratio')) return 'ratio';
  if (key.startsWith('mbps_') || key.endsWith('_mbps')) return 'Mbit/s';
  if (key.endsWith('_ms')) return 'milliseconds';
  if (key.endsWith('_s')) return 'seconds';
  if (key.endsWith('_rps')) return 'requests/s';
  return undefined;
}

/**
 * Which figure is measured against which baseline figure of the same run, per
 * benchmark. A result may carry its own (`baselines: {figure: baseline}`);
 * these are for results stored before that field existed.
 */
const KNOWN_BASELINES: Record<string, Record<string, string>> = {
  forward: { mbps_stateful_1: 'mbps_baseline_1', mbps_stateful_4: 'mbps_baseline_4', mbps_10k_1: 'mbps_baseline_1', mbps_10k_4: 'mbps_baseline_4' },
  ipsec: { mbps_junction_1: 'mbps_stock_1', mbps_junction_4: 'mbps_stock_4', tunnels1_s: 'stock_tunnels1_s', tunnels50_s: 'stock_tunnels50_s' },
  bgp: { install_s: 'hand_install_s', withdraw_s: 'hand_withdraw_s' },
  'rules-scale': { commit100k_s: 'direct100k_s', single_p50_ms: 'direct_single_p50_ms' },
  api: { read_rps: 'empty_rps', read_p99_ms: 'empty_p99_ms' },
};

function baselinesOf(result: BenchResult): Array<[figure: string, baseline: string]> {
  const declared = (result.baselines as Record<string, string> | undefined) ?? KNOWN_BASELINES[result.bench] ?? {};
  return Object.entries(declared).filter(([f, b]) => typeof result[f] === 'number' && typeof result[b] === 'number');
}

/** Numeric top-level figures, one panel per unit so that each panel has one scale; `skip`: drawn elsewhere. */
function panels(result: Record<string, unknown>, skip: Set<string>): Array<{ title: string; bars: Array<[string, number]> }> {
  const groups = new Map<string, Array<[string, number]>>();
  for (const [key, value] of Object.entries(result)) {
    if (skip.has(key) || typeof value !== 'number' || !Number.isFinite(value)) continue;
    const unit = unitOf(key);
    if (!unit) continue;
    if (!groups.has(unit)) groups.set(unit, []);
    groups.get(unit)!.push([key, value]);
  }
  return [...groups.entries()].map(([title, bars]) => ({ title, bars }));
}

/** Targets of results stored before they declared them (design/performance.md). */
const KNOWN_TARGETS: Record<string, Record<string, { min?: number; max?: number }>> = {
  recovery: { api_back_s: { max: 3 }, lost_flows: { max: 0 }, bgp_flaps: { max: 0 }, tunnel_flaps: { max: 0 } },
};

function targetsOf(result: Record<string, unknown>): Record<string, { min?: number; max?: number }> {
  return (result.targets as Record<string, { min?: number; max?: number }> | undefined) ?? KNOWN_TARGETS[String(result.bench)] ?? {};
}

/** Targets a result declares (`targets: {ratio_10k: {min: 0.9}}`) are drawn as dashed lines. */
function targetFor(result: Record<string, unknown>, key: string): number | undefined {
  const t = targetsOf(result)[key];
  return t?.min ?? t?.max;
}

const BASELINE_COLOUR = '#9a9a9a';

export function renderSvg(result: BenchResult): string {
  const width = 760;
  const barH = 22;
  const labelW = 190;
  const valueW = 90;
  const plotW = width - labelW - valueW - 20;
  const parts: string[] = [];
  let y = 20;
  parts.push(`<text x="10" y="${y + 6}" font-size="18" font-weight="bold">${esc(`bench: ${result.bench}`)}</text>`);
  const verdict = result.pass ? 'pass' : 'FAIL';
  parts.push(`<text x="${width - 10}" y="${y + 6}" font-size="16" text-anchor="end" fill="${result.pass ? '#2a7d2a' : '#b22222'}">${verdict}</text>`);
  y += 20;
  if (typeof result.date === 'string') {
    parts.push(`<text x="10" y="${y + 6}" font-size="11" fill="#555">${esc(result.date)}; dashed red line: the target; grey: the baseline measured in the same run</text>`);
    y += 14;
  }
  if (result.host) {
    const { cpu_steal_pct: steal, contended } = result.host;
    const loop = result.host.reference_loop_ms ? `; reference loop ${result.host.reference_loop_ms.join('/')} ms at start/end` : '';
    const text = `host: ${steal}% of the CPU time went to other guests (steal)${contended ? ': a contended run, compare its ratios, not its absolute figures' : ''}${loop}`;
    parts.push(`<text x="10" y="${y + 6}" font-size="11" fill="${contended ? '#b22222' : '#555'}">${esc(text)}</text>`);
    y += 14;
  }
  const bar = (key: string, value: number, scale: number, colour: string, target?: number) => {
    const w = Math.max(1, Math.abs(value) * scale);
    parts.push(`<text x="${labelW - 6}" y="${y + barH * 0.7}" font-size="12" text-anchor="end">${esc(key)}</text>`);
    parts.push(`<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${barH - 6}" fill="${colour}"/>`);
    parts.push(`<text x="${(labelW + w + 4).toFixed(1)}" y="${y + barH * 0.7}" font-size="12">${esc(fmt(value))}</text>`);
    if (target !== undefined) {
      const x = (labelW + target * scale).toFixed(1);
      parts.push(`<line x1="${x}" y1="${y + 1}" x2="${x}" y2="${y + barH - 1}" stroke="#b22222" stroke-width="2" stroke-dasharray="3,2"/>`);
    }
    y += barH;
  };
  const palette = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2'];
  const pairs = baselinesOf(result);
  if (pairs.length) {
    y += 18;
    parts.push(`<text x="10" y="${y}" font-size="14" font-weight="bold">Junction against its baseline (each pair on its own scale)</text>`);
    y += 8;
    for (const [figure, baseline] of pairs) {
      const value = result[figure] as number;
      const base = result[baseline] as number;
      const target = targetFor(result, figure);
      const scale = plotW / (Math.max(Math.abs(value), Math.abs(base), target ?? 0) || 1);
      const top = y;
      bar(figure, value, scale, palette[0]!, target);
      bar(baseline, base, scale, BASELINE_COLOUR);
      parts.push(`<line x1="${labelW}" y1="${top}" x2="${labelW}" y2="${y}" stroke="#333"/>`);
      y += 4;
    }
  }
  const drawn = new Set(pairs.flat());
  panels(result, drawn).forEach((panel, pi) => {
    y += 18;
    parts.push(`<text x="10" y="${y}" font-size="14" font-weight="bold">${esc(panel.title)}</text>`);
    y += 8;
    const targets = panel.bars.map(([k]) => targetFor(result, k)).filter((t): t is number => t !== undefined);
    const scale = plotW / (Math.max(...panel.bars.map(([, v]) => Math.abs(v)), ...targets) || 1);
    const top = y;
    for (const [key, value] of panel.bars) bar(key, value, scale, palette[(pi + 1) % palette.length]!, targetFor(result, key));
    parts.push(`<line x1="${labelW}" y1="${top}" x2="${labelW}" y2="${y}" stroke="#333"/>`);
  });
  y += 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/** One line per figure with a target: value, target, met or not (for the index). */
function targetLines(result: BenchResult): string[] {
  return Object.entries(targetsOf(result)).map(([key, t]) => {
    const value = result[key];
    const bound = t.min !== undefined ? `>= ${t.min}` : `<= ${t.max}`;
    const met = typeof value === 'number' && (t.min === undefined || value >= t.min) && (t.max === undefined || value <= t.max);
    return `${key} = ${typeof value === 'number' ? fmt(value) : String(value)} (target ${bound}${met ? '' : ', not met'})`;
  });
}

function hostCell(host: HostLoad | undefined): string {
  if (!host) return 'not recorded';
  const loop = host.reference_loop_ms ? `<br>loop ${host.reference_loop_ms.join('/')} ms` : '';
  return `steal ${host.cpu_steal_pct}%${host.contended ? ' (**contended**)' : ''}${loop}`;
}

/** `npm run bench -- report`: one SVG per bench/results/<name>.json, and bench/results/README.md linking them. */
export function reportAll(): number {
  let files: string[];
  try {
    files = readdirSync(RESULTS_DIR).filter((f) => f.endsWith('.json')).sort();
  } catch {
    files = [];
  }
  if (files.length === 0) {
    process.stderr.write(`no results in ${RESULTS_DIR}; run a benchmark first (npm run bench -- forward)\n`);
    return 1;
  }
  const rows: Figure[][] = [['result', 'pass', 'chart']];
  const index = [
    '# Benchmark results',
    '',
    'Written by `npm run bench -- report` from the JSON files here (one per benchmark, the last run of each);',
    'the same command draws the charts next to them (`<name>.svg`, made from the JSON and committed with it).',
    'See the README section "Benchmarks" for how to read them, and design/performance.md for the definitions.',
    '',
    'The host column is the share of CPU time the hypervisor gave to other guests during the run (steal);',
    `at ${CONTENDED_STEAL_PCT}% or more the run was contended: its absolute times are not comparable with a quiet run's, its same-run ratios mostly are.`,
    `Loop: the milliseconds a fixed CPU-bound loop took at the start and the end of the run (${QUIET_REFERENCE_LOOP_MS.join('-')} on this machine when quiet);`,
    "where it took longer, the machine was slower, and the run's absolute figures are slower by about as much.",
    '',
    '| bench | date | pass | figures against targets | host | chart |',
    '|---|---|---|---|---|---|',
  ];
  for (const file of files) {
    const path = join(RESULTS_DIR, file);
    let result: BenchResult;
    try {
      result = JSON.parse(readFileSync(path, 'utf8')) as BenchResult;
      if (typeof result.bench !== 'string') throw new Error('no "bench" field');
    } catch (error) {
      process.stderr.write(`skipping ${path}: ${(error as Error).message}\n`);
      continue;
    }
    const svgName = file.replace(/\.json$/, '.svg');
    writeFileSync(join(RESULTS_DIR, svgName), renderSvg(result));
    rows.push([result.bench, result.pass, join(RESULTS_DIR, svgName)]);
    index.push(`| [${result.bench}](${file}) | ${String(result.date ?? '-').slice(0, 10)} | ${result.pass ? 'yes' : '**no**'} | ${targetLines(result).join('<br>') || '-'} | ${hostCell(result.host)} | [svg](${svgName}) |`);
  }
  writeFileSync(join(RESULTS_DIR, 'README.md'), index.join('\n') + '\n');
  printTable('benchmark charts', rows);
  return 0;
}
