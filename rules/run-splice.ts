// A rule inserted into or deleted from the inside of a big run, without
// building the run again (building one accept run of 100k rules again took
// ~0.4 s of CPU on the 2-core test machine). Only where building it again
// could not give anything else:
//
// - insert: the new rules have the run's action, no logging, and none of
//   their elements touches an element the run keeps (or each other). Each of
//   them is then new to the run, every later element is placed as before
//   (a kept one touches none of them; a shadowed one is still inside the
//   element that shadowed it, and containment decides first), and the rules
//   after still need no new run.
// - delete: nothing in the run was shadowed, so its kept elements are all
//   its rules' elements and pairwise disjoint; removing some leaves every
//   other placement as it was.
//
// Both keep the run's first rule (what opened it) and its last (its anchor,
// the name of its set). The run after it must not have opened for an overlap
// with this run's elements (a change there could move that boundary); the
// caller checks that, as it knows the next run.
import type { Family } from '../appliance/model/ip.js';
import { elementsOverlap, ofFamily, type Element } from './elements.js';
import type { CompiledRule, Run } from './runs.js';

const FAMILIES: Family[] = [4, 6];
/** More overlap checks than this and the run is built again instead. */
const MAX_CHECKS = 4_000_000;

const keptBefore = (run: Run, family: Family, rule: number) => {
  let n = 0;
  for (let r = 0; r < rule; r++) n += run.kept[family][r];
  return n;
};

/** `run` with `inserted` before its rule at index `at` (0 < at < rules.length); undefined when that needs a rebuild. */
export function insertIntoRun(run: Run, at: number, inserted: CompiledRule[]): Run | undefined {
  if (run.log || at <= 0 || at >= run.rules.length) return undefined;
  if (inserted.some((rule) => rule.log || rule.action !== run.action)) return undefined;
  const next: Run = { ...run, rules: run.rules.slice(0, at).concat(inserted, run.rules.slice(at)), elements: { 4: [], 6: [] }, owners: { 4: [], 6: [] }, kept: { 4: [], 6: [] } };
  for (const family of FAMILIES) {
    const added: Element[] = inserted.flatMap((rule) => ofFamily(rule.elements, family));
    const have = run.elements[family];
    if (added.length * (have.length + added.length) > MAX_CHECKS) return undefined;
    for (let i = 0; i < added.length; i++) {
      for (const other of have) if (elementsOverlap(other, added[i])) return undefined;
      for (let k = 0; k < i; k++) if (elementsOverlap(added[k], added[i])) return undefined;
    }
    const split = keptBefore(run, family, at);
    next.elements[family] = have.slice(0, split).concat(added, have.slice(split));
    next.owners[family] = run.owners[family].slice(0, split).concat(inserted.flatMap((rule) => ofFamily(rule.elements, family).map(() => rule.id)), run.owners[family].slice(split));
    next.kept[family] = run.kept[family].slice(0, at).concat(inserted.map((rule) => ofFamily(rule.elements, family).length), run.kept[family].slice(at));
  }
  return next;
}

/** `run` without its rules [from, to) (0 < from < to < rules.length); undefined when that needs a rebuild. */
export function deleteFromRun(run: Run, from: number, to: number): Run | undefined {
  if (run.shadowed || from <= 0 || to >= run.rules.length || from >= to) return undefined;
  const next: Run = { ...run, rules: run.rules.slice(0, from).concat(run.rules.slice(to)), elements: { 4: [], 6: [] }, owners: { 4: [], 6: [] }, kept: { 4: [], 6: [] } };
  for (const family of FAMILIES) {
    const start = keptBefore(run, family, from);
    const end = keptBefore(run, family, to);
    next.elements[family] = run.elements[family].slice(0, start).concat(run.elements[family].slice(end));
    next.owners[family] = run.owners[family].slice(0, start).concat(run.owners[family].slice(end));
    next.kept[family] = run.kept[family].slice(0, from).concat(run.kept[family].slice(to));
  }
  return next;
}
