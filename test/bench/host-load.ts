// How busy the host was while a benchmark ran, from /proc/stat. On a shared
// VM the hypervisor gives part of each CPU's time to other guests ("steal");
// a run with much of it says less about Junction than about its neighbours.
// Absolute times and throughputs of such a run are not comparable with
// another run's; ratios against a same-run baseline mostly are, since both
// sides ran under the same load. The result records the share, so a reader
// (and the index in bench/results/README.md) can tell.
//
// Steal is not all of it: the same CPU-bound loop has taken 0.9 s of CPU
// here one hour and 1.4 s the next with no steal at all (a busy sibling
// hyperthread, or the host's clock). So each run also times a fixed loop at
// its start and at its end: when those differ from run to run, so do the
// absolute figures, by about as much.
import { readFileSync } from 'node:fs';

/** Jiffies summed over all CPUs since boot (the "cpu" line of /proc/stat). */
export interface CpuTimes {
  total: number;
  idle: number;
  steal: number;
}

/** The aggregate "cpu" line of a /proc/stat text; undefined when there is none. */
export function parseCpuTimes(procStat: string): CpuTimes | undefined {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  // user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is already in user and nice
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  if ([user, nice, system, idle].some((v) => v === undefined || !Number.isFinite(v))) return undefined;
  return { total: user! + nice! + system! + idle! + iowait + irq + softirq + steal, idle: idle! + iowait, steal };
}

export function readCpuTimes(): CpuTimes | undefined {
  try {
    return parseCpuTimes(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

/** At or above this share of stolen CPU time, a run counts as taken on a contended host. */
export const CONTENDED_STEAL_PCT = 10;

/** What referenceLoopMs() read on this machine (2 cores) in quiet runs, in ms. */
export const QUIET_REFERENCE_LOOP_MS = [140, 180] as const;

/** Milliseconds a fixed, purely CPU-bound loop takes now (QUIET_REFERENCE_LOOP_MS on a quiet machine). */
export function referenceLoopMs(): number {
  const started = performance.now();
  let x = 1;
  for (let i = 0; i < 20_000_000; i++) x = (x * 31 + i) | 0;
  const ms = performance.now() - started;
  // the result is used, so the loop cannot be optimized away
  return x === 0.5 ? -1 : Math.round(ms);
}

/** What a run reads before it starts: the CPU counters and the reference loop's time. */
export interface HostMark {
  cpu: CpuTimes | undefined;
  referenceMs: number;
}

export function markHost(): HostMark {
  const referenceMs = referenceLoopMs();
  return { cpu: readCpuTimes(), referenceMs };
}

export interface HostLoad {
  /** share of all CPU time the hypervisor gave to others while the run went on */
  cpu_steal_pct: number;
  /** share of all CPU time this machine spent working (anything but idle and steal) */
  cpu_busy_pct: number;
  contended: boolean;
  /** referenceLoopMs() at the run's start and at its end */
  reference_loop_ms?: [start: number, end: number];
}

/** What the host did since `start` (markHost), with the reference loop timed again now. */
export function hostLoadSince(start: HostMark): HostLoad | undefined {
  const end = referenceLoopMs();
  const load = hostLoadBetween(start.cpu, readCpuTimes());
  return load && { ...load, reference_loop_ms: [start.referenceMs, end] };
}

/** What the host did between two readings; undefined when either is missing or no time passed. */
export function hostLoadBetween(before: CpuTimes | undefined, after: CpuTimes | undefined): HostLoad | undefined {
  if (!before || !after) return undefined;
  const total = after.total - before.total;
  if (total <= 0) return undefined;
  const steal = after.steal - before.steal;
  const busy = total - (after.idle - before.idle) - steal;
  const pct = (part: number) => Math.round((1000 * part) / total) / 10;
  return { cpu_steal_pct: pct(steal), cpu_busy_pct: pct(busy), contended: pct(steal) >= CONTENDED_STEAL_PCT };
}
