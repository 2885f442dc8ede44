// What one compile leaves for the next, so that a commit of one rule into a
// 100k-rule policy compiles in time proportional to the change, not to the
// policy. The store hands each edit a copy of the running document that
// shares its unchanged, frozen objects, so identity (===) says "unchanged":
// the same rule objects compile to the same elements, the same compiled
// rules build the same runs (incremental-runs.ts), and the same runs emit
// the same commands (the SAME command objects, which later stages memoise
// by identity too). The result is exactly what a compile without a cache
// gives (test/rules/compile-cache.test.ts compares the two after random edits).
import type { Config, FirewallPolicy, FirewallRule } from '../appliance/model/schema.js';
import { lowerBound, type PolicyRuns } from './incremental-runs.js';
import type { CompiledRule } from './runs.js';
import { sameJson } from '../appliance/model/diff.js';
import { identicalEnds } from '../appliance/model/list-ends.js';
import { isDeepFrozen } from '../appliance/model/shared-document.js';

/** A policy's enabled rules, compiled, as one compile collected them. */
export interface PolicyRules {
  compiled: CompiledRule[];
  /** positions[i]: the index in the policy's rules of compiled[i] */
  positions: number[];
  /** the ids of the enabled rules, for ruleCounters (in a compile that succeeded, one per compiled rule) */
  counters: string[];
  /** every rule the policy had was frozen all the way down, so identity still means content */
  frozen: boolean;
}

/** What the next compile of a policy (by name) starts from. */
export interface PolicyState extends PolicyRules, PolicyRuns {
  /** the policy's rules (a copy, unless the array is frozen) */
  source: readonly FirewallRule[];
  objects: ObjectsKey;
}

/**
 * Identity stands for content only where nothing can change in place: a
 * frozen object all the way down (O(1) for the records the store froze). An
 * unfrozen rule or objects section is compiled again every time.
 */
const deepFrozen = isDeepFrozen;

/** An objects section that is not frozen: no rule resolved against it is taken from the cache. */
export const UNCACHEABLE = Symbol('uncacheable objects section');
/** The objects section (what rules' names mean) a cached rule was compiled against; undefined: none. */
export type ObjectsKey = Config['objects'] | typeof UNCACHEABLE;

export class CompileCache {
  /** by policy name, from the last compile that succeeded (the likeliest base of the next one) */
  private policies = new Map<string, PolicyState>();
  private readonly frozenObjects = new WeakSet<object>();

  /** the objects section the last compile keyed its rules on */
  private lastObjects: Config['objects'];

  objectsKey(config: Config): ObjectsKey {
    const objects = config.objects;
    if (!objects || this.frozenObjects.has(objects)) return objects;
    if (!deepFrozen(objects)) return UNCACHEABLE;
    // An edit's copy of the running document copies the section and its lists, sharing their flat
    // records (a service object's list of entries is copied): equal as data, compared by identity
    // first, is the same section, so its key stays. The section is small next to the rules using it.
    if (this.lastObjects && sameJson(this.lastObjects, objects)) return this.lastObjects;
    this.frozenObjects.add(objects);
    this.lastObjects = objects;
    return objects;
  }

  policyState(policy: string): PolicyState | undefined {
    return this.policies.get(policy);
  }

  /** After a successful compile: its policies (and only those) are the base of the next. */
  keepPolicyStates(policies: Map<string, PolicyState>): void {
    this.policies = policies;
  }
}

/**
 * The compiled rules of the previous compile between its identical ends, by
 * rule object. A map per compile, of the rules a change touched, rather than
 * a weak map of every rule ever compiled: 100k weak entries made the garbage
 * collector's work the biggest cost of a 100k-rule commit (a compile took
 * 0.55 s with one, 0.35 s without, measured).
 */
function middleRules(prev: PolicyState, head: number, tail: number): Map<FirewallRule, CompiledRule> {
  const end = prev.source.length - tail;
  const found = new Map<FirewallRule, CompiledRule>();
  for (let k = lowerBound(prev.positions, head); k < prev.positions.length && prev.positions[k] < end; k++) {
    found.set(prev.source[prev.positions[k]], prev.compiled[k]);
  }
  return found;
}

/**
 * A policy's enabled rules, compiled. With a previous state of the policy
 * (same name, frozen rules, same objects section), the rules at the head
 * and the tail that are the same objects as then are taken over in bulk;
 * the rules between are looked up one by one among the rules between the
 * previous ends (a move), and compiled (`compile`; undefined after
 * recording problems) where they are not there.
 */
export function collectRules(
  cache: CompileCache | undefined,
  policy: FirewallPolicy,
  objects: ObjectsKey,
  compile: (rule: FirewallRule, index: number) => CompiledRule | undefined,
): PolicyRules {
  const rules = policy.rules;
  const n = rules.length;
  const out: PolicyRules = { compiled: [], positions: [], counters: [], frozen: !!cache && objects !== UNCACHEABLE };
  const prev = out.frozen ? cache!.policyState(policy.name) : undefined;
  let head = 0;
  let tail = 0;
  const reuse = prev && prev.frozen && prev.objects === objects;
  if (reuse) {
    ({ head, tail } = identicalEnds(prev.source, rules));
    const upTo = lowerBound(prev.positions, head);
    out.compiled = prev.compiled.slice(0, upTo);
    out.positions = prev.positions.slice(0, upTo);
    out.counters = prev.counters.slice(0, upTo);
  }
  // A rule between the ends that the previous compile had was between its ends too (a rule is in a
  // policy once: its id is unique), so a moved rule is found among those, by identity.
  // Made at the first rule to look up: a delete has none.
  let moved: Map<FirewallRule, CompiledRule> | undefined;
  const previously = (rule: FirewallRule) => (reuse ? (moved ??= middleRules(prev, head, tail)).get(rule) : undefined);
  for (let i = head; i < n - tail; i++) {
    const rule = rules[i];
    if (out.frozen && !deepFrozen(rule)) out.frozen = false;
    if (rule.enabled === false) continue;
    out.counters.push(rule.id);
    const compiled = (out.frozen ? previously(rule) : undefined) ?? compile(rule, i);
    if (compiled) {
      out.compiled.push(compiled);
      out.positions.push(i);
    }
  }
  if (prev && tail) {
    // In bulk (concat, not a push per rule): the tail is most of a big policy; and no slice when it is all of it.
    const from = lowerBound(prev.positions, prev.source.length - tail);
    const shift = n - prev.source.length;
    const rest = <T>(list: T[]) => (from === 0 ? list : list.slice(from));
    out.compiled = out.compiled.concat(rest(prev.compiled));
    out.counters = out.counters.concat(rest(prev.counters));
    const kept = out.positions.length;
    const positions = out.positions;
    positions.length = kept + prev.positions.length - from;
    for (let k = from; k < prev.positions.length; k++) positions[kept + k - from] = prev.positions[k] + shift;
  }
  return out;
}
