// Groups the ordered rules of a policy into runs: consecutive enabled rules
// with the same action (and no logging) that can share ONE map lookup. The
// first match must still win, so within a run an element fully inside an
// earlier element is dropped (the earlier rule matches it first anyway, with
// the same verdict), and an element that partly overlaps an earlier one starts
// a new run (the kernel rejects overlapping elements, and the counters would
// be ambiguous).
import type { Family } from '../appliance/model/ip.js';
import type { Action } from '../appliance/model/schema.js';
import type { Element } from './elements.js';
import { OverlapIndex, type Probe } from './overlap-index.js';

export interface CompiledRule {
  id: string;
  /** document path of the rule */
  path: string;
  action: Action;
  /** logging asked for: the run holds this rule alone */
  log?: { prefix: string; ratePerMinute: number };
  elements: Record<Family, Element[]>;
}


export interface Run {
  action: Action;
  log?: { prefix: string; ratePerMinute: number };
  /** the rules in the run, in order (including ones whose elements were all shadowed) */
  rules: CompiledRule[];
  elements: Record<Family, Element[]>;
  /** owners[f][i]: id of the rule (and its counter) elements[f][i] came from */
  owners: Record<Family, string[]>;
  /** elements dropped because an earlier element of the run already covers them */
  shadowed: number;
}

export function buildRuns(rules: CompiledRule[]): Run[] {
  const runs: Run[] = [];
  let current: Run | undefined;
  let index: Record<Family, OverlapIndex> | undefined;

  const open = (rule: CompiledRule): Run => {
    current = { action: rule.action, log: rule.log, rules: [], elements: { 4: [], 6: [] }, owners: { 4: [], 6: [] }, shadowed: 0 };
    index = { 4: new OverlapIndex(4), 6: new OverlapIndex(6) };
    runs.push(current);
    return current;
  };

  for (const rule of rules) {
    let run = current;
    if (!run || rule.log || run.log || run.action !== rule.action) run = open(rule);
    // Decide for the whole rule before adding any of its elements: a rule is never split across runs.
    const keep: Record<Family, Probe[]> = { 4: [], 6: [] };
    let split = false;
    let shadowed = 0;
    for (const family of [4, 6] as Family[]) {
      for (const e of rule.elements[family]) {
        const probe = index![family].probe(e);
        const placement = index![family].place(probe);
        if (placement === 'overlaps') { split = true; break; }
        if (placement === 'new') keep[family].push(probe);
        else shadowed++;
      }
      if (split) break;
    }
    if (split) {
      run = open(rule);
      keep[4] = rule.elements[4].map((e) => index![4].probe(e));
      keep[6] = rule.elements[6].map((e) => index![6].probe(e));
      shadowed = 0;
    }
    run.shadowed += shadowed;
    run.rules.push(rule);
    for (const family of [4, 6] as Family[]) {
      for (const probe of keep[family]) {
        index![family].add(probe);
        run.elements[family].push(probe.element);
        run.owners[family].push(rule.id);
      }
    }
  }
  return runs;
}
