// Rebuilds only the runs (runs.ts) around a change to a policy's rules. A
// run that opens at a rule depends only on the rules from there on, and a
// run closed by an unchanged rule before the change is the same run, so the
// runs of the previous compile (and the commands they emitted, as the same
// objects) hold everywhere but between those two points. Between them, the
// pieces of the previous runs there are offered for reuse (see emitRun).
// Rules inserted into, deleted from or replaced inside one run are spliced
// where that is exact (run-splice.ts), not built again.
import type { Family } from '../appliance/model/ip.js';
import type { Element } from './elements.js';
import { deleteFromRun, insertIntoRun } from './run-splice.js';
import { RunBuilder, type CompiledRule, type Run } from './runs.js';

/** One set (and log set) with the rules that look it up: a run, or a piece of a big run, in the batch. */
export interface PieceOutput {
  family: Family;
  /** the rule the set is named after */
  anchor: string;
  /** its elements (the compiled rules' objects): with the anchor and the run's verdict, they decide the commands */
  elements: Element[];
  sets: object[];
  rules: object[];
  counterSet: { name: string; owners: string[] };
  /** set elements, and set lookups, it adds to the batch's stats */
  elementCount: number;
  lookups: number;
}

/** What a run adds to the batch (without origins: those follow the rules' positions). */
export type RunOutput = PieceOutput[];

/** The pieces of the previous runs that a rebuild replaces, by family and anchor, with the run each was in. */
export type PreviousPieces = Map<string, { run: Run; piece: PieceOutput }>;
export const pieceKey = (family: Family, anchor: string) => `${family} ${anchor}`;

/** A policy's compiled rules and the runs built from them, each with its output. */
export interface PolicyRuns {
  compiled: CompiledRule[];
  runs: Run[];
  /** starts[i]: the position in `compiled` of runs[i]'s first rule */
  starts: number[];
  outputs: RunOutput[];
}

/**
 * The runs of `compiled` (and their outputs), reusing the previous ones
 * where the rules (compared by identity) say they are the same: every run
 * that ends before the first changed rule, and every run from the first run
 * that opens inside the unchanged tail at a rule where the previous runs
 * also opened one. Only the runs in between are built and emitted; without
 * `prev`, all of them.
 */
export function incrementalRuns(prev: PolicyRuns | undefined, compiled: CompiledRule[], emit: (run: Run, previous: PreviousPieces) => RunOutput): PolicyRuns {
  const out: PolicyRuns = { compiled, runs: [], starts: [], outputs: [] };
  const n = compiled.length;
  const m = prev?.compiled.length ?? 0;
  let from = 0;
  let tailFrom = n;
  /** previous run index by the position of its first rule, for runs in the unchanged tail */
  const resumable = new Map<number, number>();
  if (prev) {
    let prefix = 0;
    while (prefix < n && prefix < m && compiled[prefix] === prev.compiled[prefix]) prefix++;
    let suffix = 0;
    while (suffix < n && suffix < m && compiled[n - 1 - suffix] === prev.compiled[m - 1 - suffix]) suffix++;
    const spliced = spliceRun(prev, compiled, prefix, Math.min(suffix, Math.min(n, m) - prefix), emit);
    if (spliced) return spliced;
    let kept = 0;
    while (kept < prev.runs.length && prev.starts[kept] + prev.runs[kept].rules.length < prefix) kept++;
    out.runs = prev.runs.slice(0, kept);
    out.starts = prev.starts.slice(0, kept);
    out.outputs = prev.outputs.slice(0, kept);
    from = kept < prev.runs.length ? prev.starts[kept] : 0;
    tailFrom = n - suffix;
    for (let j = prev.runs.length - 1; j >= 0 && prev.starts[j] >= m - suffix; j--) resumable.set(prev.starts[j], j);
  }
  const builder = new RunBuilder();
  const starts: number[] = [];
  let resumeAt = -1;
  for (let i = from; i < n; i++) {
    if (!builder.add(compiled[i])) continue;
    const j = i >= tailFrom ? resumable.get(i - (n - m)) : undefined;
    if (j !== undefined) {
      // The run just opened is the previous run j, and so is every run after it.
      builder.runs.pop();
      resumeAt = j;
      break;
    }
    starts.push(i);
  }
  const previous: PreviousPieces = new Map();
  if (prev && builder.runs.length) {
    const replacedFrom = out.runs.length;
    const replacedTo = resumeAt >= 0 ? resumeAt : prev.runs.length;
    for (let j = replacedFrom; j < replacedTo; j++) {
      for (const piece of prev.outputs[j]) previous.set(pieceKey(piece.family, piece.anchor), { run: prev.runs[j], piece });
    }
  }
  builder.runs.forEach((run, k) => {
    out.runs.push(run);
    out.starts.push(starts[k]);
    out.outputs.push(emit(run, previous));
  });
  if (prev && resumeAt >= 0) {
    for (let j = resumeAt; j < prev.runs.length; j++) {
      out.runs.push(prev.runs[j]);
      out.starts.push(prev.starts[j] + n - m);
      out.outputs.push(prev.outputs[j]);
    }
  }
  return out;
}

/** The first index in the sorted `values` at or above `value`. */
export function lowerBound(values: number[], value: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * When the rules changed only inside one previous run (rules deleted,
 * inserted, or both: a replace or a move), and run-splice.ts says splicing
 * them is exact, that run spliced and every other run as it was; undefined
 * otherwise.
 */
function spliceRun(prev: PolicyRuns, compiled: CompiledRule[], prefix: number, suffix: number, emit: (run: Run, previous: PreviousPieces) => RunOutput): PolicyRuns | undefined {
  const added = compiled.length - suffix - prefix;
  const removed = prev.compiled.length - suffix - prefix;
  if (!added && !removed) return undefined;
  const j = lowerBound(prev.starts, prefix) - 1;
  if (j < 0) return undefined;
  const run = prev.runs[j];
  const next = prev.runs[j + 1];
  // the next run opened for an overlap with this one: a change here may move where it opens
  if (next && next.action === run.action && !next.log && !run.log) return undefined;
  const at = prefix - prev.starts[j];
  // A replace or a move is a delete and then an insert, each exact on its own.
  let spliced: Run | undefined = removed ? deleteFromRun(run, at, at + removed) : run;
  if (spliced && added) spliced = insertIntoRun(spliced, at, compiled.slice(prefix, prefix + added));
  if (!spliced) return undefined;
  const previous: PreviousPieces = new Map(prev.outputs[j].map((piece) => [pieceKey(piece.family, piece.anchor), { run, piece }]));
  const shift = added - removed;
  return {
    compiled,
    runs: prev.runs.map((r, k) => (k === j ? spliced : r)),
    starts: prev.starts.map((start, k) => (k > j ? start + shift : start)),
    outputs: prev.outputs.map((output, k) => (k === j ? emit(spliced, previous) : output)),
  };
}
