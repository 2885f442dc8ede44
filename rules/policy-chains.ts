// One chain per firewall policy ("pol_<name>"). Its ordered rules become runs
// (see runs.ts); each run is ONE lookup in a set keyed by (a subset of, see
// run-shape.ts) `saddr . daddr . l4proto . dport`, so per-packet cost does not
// grow with the number of rules. Every element carries its own counter and the compiler
// records which rule owns it (RuleCounters), so every rule still has its
// counter: the sum over its elements. (Named counters per rule made every nft
// command that needs the object cache list all of them, quadratically.)
import type { FirewallPolicy, FirewallRule } from '../appliance/model/schema.js';
import type { Family, IpRange } from '../appliance/model/ip.js';
import type { Batch, CompileContext } from './batch.js';
import { collectRules, UNCACHEABLE } from './compile-cache.js';
import { incrementalRuns, pieceKey, type PieceOutput, type PreviousPieces, type RunOutput } from './incremental-runs.js';
import { elementCount, mergeServices, ruleElements, type Element, type ServiceInterval } from './elements.js';
import * as nft from './nft-json.js';
import { ANY_SERVICE, type ServiceRange } from './resolve.js';
import type { CompiledRule, Run } from './runs.js';
import { runShape, shapeElement, shapeLookup, shapeTag, shapeType, type RunShape } from './run-shape.js';
import { HASH_PIECES, INTERVAL_PIECES, runPieces } from './run-pieces.js';

/** Named counter of what falls through to a policy's default action. */
export const defaultCounterName = (policyName: string) => `default_${policyName}`;
export const policyChainName = (policyName: string) => `pol_${policyName}`;

const MAX_ELEMENTS_PER_RULE = 1_000_000;
const DEFAULT_LOG_RATE = 60;

/** Resolves a rule's source or destination list; undefined when absent (any), null after problems. */
function resolveAddresses(ctx: CompileContext, refs: string[] | undefined, path: string): IpRange[] | undefined | null {
  if (!refs?.length) return undefined;
  // one reference (most rules): the resolver's list as it is, only read from here on
  if (refs.length === 1) return ctx.resolver.address(refs[0], `${path}/0`) ?? null;
  const out: IpRange[] = [];
  let ok = true;
  for (let i = 0; i < refs.length; i++) {
    const r = ctx.resolver.address(refs[i], `${path}/${i}`);
    if (r) for (const x of r) out.push(x);
    else ok = false;
  }
  return ok ? out : null;
}

function resolveServices(ctx: CompileContext, refs: string[] | undefined, path: string): ServiceRange[] | null {
  if (!refs?.length) return [ANY_SERVICE];
  if (refs.length === 1) return ctx.resolver.service(refs[0], `${path}/0`) ?? null;
  const out: ServiceRange[] = [];
  let ok = true;
  for (let i = 0; i < refs.length; i++) {
    const r = ctx.resolver.service(refs[i], `${path}/${i}`);
    if (r) for (const x of r) out.push(x);
    else ok = false;
  }
  return ok ? out : null;
}

/** Resolves one rule into its elements, or undefined after recording problems. */
function compileRule(ctx: CompileContext, policy: FirewallPolicy, rule: FirewallRule, path: string): CompiledRule | undefined {
  const sources = resolveAddresses(ctx, rule.source, `${path}/source`);
  const destinations = resolveAddresses(ctx, rule.destination, `${path}/destination`);
  const services = resolveServices(ctx, rule.services, `${path}/services`);
  if (sources === null || destinations === null || services === null) return undefined;
  const merged: ServiceInterval[] = mergeServices(services);
  const count = elementCount(sources, destinations, merged.length);
  if (count > MAX_ELEMENTS_PER_RULE) {
    ctx.problems.push({ path, message: `rule expands to ${count} elements (sources x destinations x services); at most ${MAX_ELEMENTS_PER_RULE}` });
    return undefined;
  }
  const elements = ruleElements(sources, destinations, merged);
  if (elements === 'mixed-family') {
    ctx.problems.push({ path, message: 'mixes address families: the source and destination addresses share no IP family (IPv4 vs IPv6)' });
    return undefined;
  }
  const log = rule.log
    ? {
        prefix: `${(typeof rule.log === 'object' && rule.log.prefix) || `${policy.name}:${rule.id}`} `,
        ratePerMinute: (typeof rule.log === 'object' && rule.log.rate_per_minute) || DEFAULT_LOG_RATE,
      }
    : undefined;
  return { id: rule.id, action: rule.action, log, elements };
}

/**
 * A run is named after its anchor, its LAST rule (rule ids are unique in
 * the document): a rule inserted before it or a rule deleted from it other
 * than the last changes only the run's elements, never its set's name or its
 * rules' comment, so the commit is an element-only delta. The set's name also
 * carries the family and the shape's tag, so a changed shape is a new set.
 * A big run is split into pieces (run-pieces.ts); a piece other than the
 * last is anchored at the owner of its last element.
 */
const runAnchor = (run: Run) => run.rules[run.rules.length - 1].id;
const setName = (prefix: 'r' | 'l', anchor: string, family: Family, shape: RunShape) => `${prefix}_${anchor}_${family}${shapeTag(shape)}`;

/** The same action and logging: with the same elements and anchor, a piece emits the same commands. */
const sameVerdict = (a: Run, b: Run) =>
  a.action === b.action && (a.log === b.log || (!!a.log && !!b.log && a.log.prefix === b.log.prefix && a.log.ratePerMinute === b.log.ratePerMinute));

/** Whether `piece` holds exactly elements[start, end) (the same objects) with the same owners. */
function holds(piece: PieceOutput, elements: Element[], owners: string[], start: number, end: number): boolean {
  if (piece.elements.length !== end - start) return false;
  for (let i = start; i < end; i++) if (piece.elements[i - start] !== elements[i] || piece.counterSet.owners[i - start] !== owners[i]) return false;
  return true;
}

/**
 * A run's pieces. A piece of a rebuilt run that a previous run of the
 * policy emitted with the same anchor, elements and verdict is taken over
 * as it was (pieces are cut by rule id, so an insert into a big run changes
 * only its own piece).
 */
function emitRun(chain: string, run: Run, previous: PreviousPieces): RunOutput {
  const out: RunOutput = [];
  for (const family of [4, 6] as Family[]) {
    const elements = run.elements[family];
    if (!elements.length) continue;
    const owners = run.owners[family];
    const pieces = runPieces(owners, runShape(elements).interval ? INTERVAL_PIECES : HASH_PIECES);
    pieces.forEach(([start, end], i) => {
      const anchor = i === pieces.length - 1 ? runAnchor(run) : owners[end - 1];
      const old = previous.get(pieceKey(family, anchor));
      if (old && sameVerdict(old.run, run) && holds(old.piece, elements, owners, start, end)) out.push(old.piece);
      else out.push(emitPiece(chain, run, family, anchor, elements.slice(start, end), owners.slice(start, end)));
    });
  }
  return out;
}

/** One set (and log set) of a run, or of a piece of a big run, with the rules that look it up. */
function emitPiece(chain: string, run: Run, family: Family, anchor: string, elements: Element[], owners: string[]): PieceOutput {
  const shape = runShape(elements);
  const type = shapeType(shape, family);
  const keys = elements.map((e) => shapeElement(shape, e));
  const set = setName('r', anchor, family, shape);
  const out: PieceOutput = { family, anchor, elements, sets: [], rules: [], counterSet: { name: set, owners }, elementCount: 0, lookups: 0 };
  if (run.log) {
    const logSet = setName('l', anchor, family, shape);
    out.sets.push(nft.addSet({ name: logSet, type, interval: shape.interval, elem: keys }));
    out.rules.push(nft.addRule(chain, anchor, [
      shapeLookup(shape, family, logSet),
      nft.limitPerMinute(run.log.ratePerMinute),
      nft.log(run.log.prefix),
    ]));
    out.elementCount += elements.length;
    out.lookups++;
  }
  out.sets.push(nft.addSet({ name: set, type, interval: shape.interval, counter: true, elem: keys }));
  out.elementCount += elements.length;
  const lookup = shapeLookup(shape, family, set);
  if (run.action === 'reject') {
    // TCP gets a reset (a clean "connection refused"), everything else ICMP admin-prohibited.
    // A packet counts once: only TCP reaches the first rule's lookup, and TCP never leaves it.
    const tcp = nft.match(nft.meta('l4proto'), 'tcp');
    out.rules.push(nft.addRule(chain, anchor, [tcp, lookup, nft.rejectTcpReset()]));
    out.lookups++;
  }
  out.rules.push(nft.addRule(chain, anchor, [lookup, nft.verdict(run.action)]));
  out.lookups++;
  return out;
}

/** A run's output into the batch; its origin is its first rule's document path. */
function addRunOutput(batch: Batch, out: RunOutput, origin: string): void {
  for (const piece of out) {
    for (const command of piece.sets) batch.add('sets', command, origin);
    for (const command of piece.rules) batch.add('rules', command, origin);
    batch.ruleCounters.sets.push(piece.counterSet);
    batch.elements += piece.elementCount;
    batch.lookups += piece.lookups;
  }
}

/**
 * Emits every policy's chain, sets, rules and default counter. Rule ids key
 * the rule counters, so they must be unique across policies: verify checks
 * that, and the compiler trusts verified input.
 */
export function emitPolicyChains(ctx: CompileContext): void {
  const cache = ctx.cache;
  // A document without objects has the key undefined, which is cacheable too.
  const objects = cache ? cache.objectsKey(ctx.config) : UNCACHEABLE;
  ctx.config.firewall?.policies.forEach((policy, pi) => {
    const base = `/firewall/policies/${pi}`;
    const chain = policyChainName(policy.name);
    ctx.batch.add('chains', nft.addChain(chain), base);
    const rules = collectRules(cache, policy, objects, (rule, ri) => compileRule(ctx, policy, rule, `${base}/rules/${ri}`));
    ctx.batch.ruleCounters.rules.push({ policy: policy.name, ids: rules.counters });
    const prev = rules.frozen ? cache?.policyState(policy.name) : undefined;
    const runs = incrementalRuns(prev, rules.compiled, (run, previous) => emitRun(chain, run, previous));
    if (cache) ctx.policyStates.set(policy.name, { ...rules, ...runs, source: Object.isFrozen(policy.rules) ? policy.rules : policy.rules.slice(), objects });
    runs.outputs.forEach((out, i) => addRunOutput(ctx.batch, out, `${base}/rules/${rules.positions[runs.starts[i]]}`));
    if (policy.log_default || runs.runs.some((run) => run.log)) ctx.batch.logging = true;

    const action = policy.default_action ?? 'drop';
    if (policy.log_default) {
      ctx.batch.add('rules', nft.addRule(chain, policy.name, [
        nft.limitPerMinute(DEFAULT_LOG_RATE),
        nft.log(`${policy.name}:default-${action} `),
      ]), `${base}/log_default`);
    }
    ctx.batch.add('counters', nft.addCounter(defaultCounterName(policy.name)), `${base}/default_action`);
    ctx.batch.add('rules', nft.addRule(chain, policy.name, [nft.namedCounter(defaultCounterName(policy.name)), nft.verdict(action)]), `${base}/default_action`);
  });
}
