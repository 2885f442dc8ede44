// Groups the ordered rules of a policy into runs: consecutive enabled rules
// with the same action (and no logging) that can share ONE map lookup. The
// first match must still win, so within a run an element fully inside an
// earlier element is dropped (the earlier rule matches it first anyway, with
// the same verdict), and an element that partly overlaps an earlier one starts
// a new run (the kernel rejects overlapping elements, and the counters would
// be ambiguous). A run that opens at a rule depends only on the rules from
// there on, which is what lets a compile with a cache (compile-cache.ts)
// rebuild only the runs around a change.
import type { Family } from '../appliance/model/ip.js';
import type { Action } from '../appliance/model/schema.js';
import { ofFamily, type Element, type RuleElements } from './elements.js';
import { OverlapIndex, type Probe } from './overlap-index.js';

/**
 * A rule resolved into its elements. It holds nothing that depends on the
 * rule's position (no document path), so a compile cache can reuse it when
 * rules are inserted or deleted before it.
 */
export interface CompiledRule {
  id: string;
  action: Action;
  /** logging asked for: the run holds this rule alone */
  log?: { prefix: string; ratePerMinute: number };
  elements: RuleElements;
}

export interface Run {
  action: Action;
  log?: { prefix: string; ratePerMinute: number };
  /** the rules in the run, in order (including ones whose elements were all shadowed) */
  rules: CompiledRule[];
  elements: Record<Family, Element[]>;
  /** owners[f][i]: id of the rule (and its counter) elements[f][i] came from */
  owners: Record<Family, string[]>;
  /** kept[f][r]: how many of elements[f] rules[r] holds (the rest of its elements were shadowed) */
  kept: Record<Family, number[]>;
  /** elements dropped because an earlier element of the run already covers them */
  shadowed: number;
}

/** Builds runs one rule at a time, so a caller can stop where the runs meet ones it already has. */
export class RunBuilder {
  readonly runs: Run[] = [];
  private current: Run | undefined;
  private index: Record<Family, OverlapIndex> | undefined;

  private open(rule: CompiledRule): Run {
    this.current = { action: rule.action, log: rule.log, rules: [], elements: { 4: [], 6: [] }, owners: { 4: [], 6: [] }, kept: { 4: [], 6: [] }, shadowed: 0 };
    this.index = { 4: new OverlapIndex(4), 6: new OverlapIndex(6) };
    this.runs.push(this.current);
    return this.current;
  }

  /** Adds the next rule; true when it opened a new run. */
  add(rule: CompiledRule): boolean {
    let run = this.current;
    let opened = false;
    if (!run || rule.log || run.log || run.action !== rule.action) { run = this.open(rule); opened = true; }
    const index = this.index!;
    // Decide for the whole rule before adding any of its elements: a rule is never split across runs.
    const keep: Record<Family, Probe[]> = { 4: [], 6: [] };
    let split = false;
    let shadowed = 0;
    for (const family of [4, 6] as Family[]) {
      for (const e of ofFamily(rule.elements, family)) {
        const probe = index[family].probe(e);
        const placement = index[family].place(probe);
        if (placement === 'overlaps') { split = true; break; }
        if (placement === 'new') keep[family].push(probe);
        else shadowed++;
      }
      if (split) break;
    }
    if (split) {
      run = this.open(rule);
      opened = true;
      const fresh = this.index!;
      keep[4] = rule.elements.v4.map((e) => fresh[4].probe(e));
      keep[6] = rule.elements.v6.map((e) => fresh[6].probe(e));
      shadowed = 0;
    }
    run.shadowed += shadowed;
    run.rules.push(rule);
    for (const family of [4, 6] as Family[]) {
      for (const probe of keep[family]) {
        this.index![family].add(probe);
        run.elements[family].push(probe.element);
        run.owners[family].push(rule.id);
      }
      run.kept[family].push(keep[family].length);
    }
    return opened;
  }
}
