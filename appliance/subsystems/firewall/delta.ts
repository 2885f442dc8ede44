// The one nft transaction that takes Junction's table from what the kernel
// has to what the compiler rendered: only the chains, rules, set and map
// elements and counters that differ are added or deleted, so the named
// counters of unchanged rules keep counting across commits and restarts.
// A set whose type or flags change is deleted and added again in the same
// transaction (with the rules that look it up). A change nft cannot make in
// place otherwise (a chain's hook, a flowtable) falls back to replacing the
// whole table, with the named counters' values carried over.
import { TABLE, type CompiledRuleset } from '../../../rules/index.js';
import type { RuleContent, TableContent } from './content.js';

export interface NftTransaction {
  /** the commands of one `nft -j -f` batch */
  nftables: object[];
  /** origins[i]: the document path (or "junction:..." label) of nftables[i], for nft's error index */
  origins: string[];
  /** the whole table is replaced (first apply, or a change that cannot be a delta) */
  whole: boolean;
  /** what the transaction does, for the apply report */
  summary: string;
  /** a rule to delete has no known handle (the kernel table was assumed, not listed): list it and compute again */
  needsHandles?: boolean;
}

// Junction's table is in the inet family (rules/nft-json.ts).
const FAMILY = 'inet';
const where = { family: FAMILY, table: TABLE };

/** Declarations present on both sides whose properties differ and that cannot be replaced alone. */
function needsWholeTable(kernel: TableContent, desired: TableContent): string | undefined {
  for (const [name, line] of desired.chains) if (kernel.chains.has(name) && kernel.chains.get(name) !== line) return `chain ${name} changes its hook or policy`;
  for (const [name, line] of desired.flowtables) if (kernel.flowtables.has(name) && kernel.flowtables.get(name) !== line) return `flowtable ${name} changes`;
  return undefined;
}

/** The compiled batch, with every named counter that exists in the kernel starting from its current values. */
function wholeTable(ruleset: CompiledRuleset, kernel: TableContent | undefined, reason: string): NftTransaction {
  const nftables = ruleset.nftables.map((command) => {
    const counter = (command as { add?: { counter?: { name: string } } }).add?.counter;
    const values = counter && kernel?.counters.get(counter.name);
    return values && (values.packets || values.bytes) ? { add: { counter: { ...counter, ...values } } } : command;
  });
  return { nftables, origins: ruleset.origins, whole: true, summary: `whole table (${reason}): ${ruleset.stats.rules} rules, ${ruleset.stats.elements} elements` };
}

/**
 * Matches the kernel's rules of one chain to the wanted ones, in order:
 * each wanted rule keeps the first unused kernel rule with the same content
 * after the last one kept. O(n) with a queue per content line.
 */
export function matchRules(have: RuleContent[], want: RuleContent[]): Array<number | undefined> {
  const byLine = new Map<string, number[]>();
  have.forEach((rule, i) => {
    const queue = byLine.get(rule.line);
    if (queue) queue.push(i);
    else byLine.set(rule.line, [i]);
  });
  let last = -1;
  return want.map((rule) => {
    const queue = byLine.get(rule.line);
    while (queue?.length && queue[0] <= last) queue.shift();
    if (!queue?.length) return undefined;
    last = queue.shift()!;
    return last;
  });
}

/** The same rules by content, in the same order. */
export const sameRules = (a: RuleContent[], b: RuleContent[]) => a.length === b.length && a.every((rule, i) => rule.line === b[i].line);

/** The elements of `from` whose lines `to` lacks (a loop: sets have 100k elements). */
function elementsMissing(from: ReadonlyMap<string, unknown>, to: ReadonlyMap<string, unknown>): unknown[] {
  const missing: unknown[] = [];
  for (const [line, element] of from) if (!to.has(line)) missing.push(element);
  return missing;
}

/** How many elements a set or map command gives. */
function givenElements(command: object): number {
  const body = (command as { add?: Record<string, { elem?: unknown[] }> }).add;
  const spec = body?.set ?? body?.map;
  return spec?.elem?.length ?? 0;
}

/** The transaction from `kernel` (undefined: no table) to `desired`; undefined when they are equal. */
export function nftTransaction(kernel: TableContent | undefined, desired: TableContent, ruleset: CompiledRuleset): NftTransaction | undefined {
  if (!kernel) return wholeTable(ruleset, undefined, 'no table yet');
  const reason = needsWholeTable(kernel, desired);
  if (reason) return wholeTable(ruleset, kernel, reason);

  const adds: Array<[object, string]> = [];
  const elementChanges: Array<[object, string]> = [];
  const setReplacements: Array<[object, string]> = [];
  const ruleDeletes: Array<[object, string]> = [];
  const ruleAdds: Array<[object, string]> = [];
  const deletes: Array<[object, string]> = [];
  const counts = { rulesAdded: 0, rulesDeleted: 0, elementsAdded: 0, elementsDeleted: 0, objects: 0 };
  let needsHandles = false;
  const fromBatch = (key: string): [object, string] => {
    const index = desired.indexes.get(key)!;
    return [ruleset.nftables[index], ruleset.origins[index]];
  };

  // Sets on both sides whose type or flags change: deleted and added again once the rules that
  // look them up are gone, before those rules are added again (same name, so they must go too).
  const replaced = new Set<string>();
  for (const [name, line] of desired.sets) if (kernel.sets.has(name) && kernel.sets.get(name) !== line) replaced.add(name);
  const looksUpReplaced = (rule: RuleContent) => [...replaced].some((name) => rule.line.includes(`"right":"@${name}"`));
  for (const name of replaced) {
    const [command, origin] = fromBatch(`set ${name}`);
    const kind = kernel.sets.get(name)!.startsWith('map ') ? 'map' : 'set';
    setReplacements.push([{ delete: { [kind]: { ...where, name } } }, origin], [command, origin]);
    counts.elementsDeleted += kernel.elements.get(name)?.size ?? 0;
    counts.elementsAdded += desired.elements.get(name)?.size ?? 0;
    counts.objects += 2;
  }

  // New declarations first: later commands refer to them.
  for (const name of desired.chains.keys()) if (!kernel.chains.has(name)) adds.push(fromBatch(`chain ${name}`));
  for (const name of desired.counters.keys()) if (!kernel.counters.has(name)) adds.push(fromBatch(`counter ${name}`));
  for (const name of desired.flowtables.keys()) if (!kernel.flowtables.has(name)) adds.push(fromBatch(`flowtable ${name}`));
  for (const name of desired.sets.keys()) {
    if (kernel.sets.has(name)) continue;
    const command = fromBatch(`set ${name}`);
    adds.push(command); // carries its elements: counted as given, which needs no element's line before nft runs
    counts.elementsAdded += givenElements(command[0]);
  }
  counts.objects += adds.length;

  // Elements of sets on both sides: deletes before adds, so a map key can change its value.
  // A set whose command the recompile reused has the very element map the kernel was given (content.ts): nothing to compare.
  for (const [name, want] of desired.elements) {
    const have = kernel.elements.get(name);
    if (!have || have === want || !kernel.sets.has(name) || replaced.has(name)) continue;
    const origin = fromBatch(`set ${name}`)[1];
    const gone = elementsMissing(have, want);
    const added = elementsMissing(want, have);
    if (gone.length) elementChanges.push([{ delete: { element: { ...where, name, elem: gone } } }, origin]);
    if (added.length) elementChanges.push([{ add: { element: { ...where, name, elem: added } } }, origin]);
    counts.elementsDeleted += gone.length;
    counts.elementsAdded += added.length;
  }

  for (const [chain, want] of desired.rules) {
    const listed = kernel.chains.has(chain) ? (kernel.rules.get(chain) ?? []) : [];
    // a rule that looks up a replaced set cannot stay: it is deleted before the set, and added again
    const have = replaced.size ? listed.map((rule) => (looksUpReplaced(rule) ? { ...rule, line: '' } : rule)) : listed;
    if (sameRules(have, want)) continue; // most chains: no need to match rule by rule
    const kept = matchRules(have, want);
    const keptSet = new Set(kept.filter((i): i is number => i !== undefined));
    for (let i = 0; i < have.length; i++) {
      if (keptSet.has(i)) continue;
      if (have[i].handle === undefined) needsHandles = true;
      ruleDeletes.push([{ delete: { rule: { ...where, chain, handle: have[i].handle } } }, `junction:rule ${chain}`]);
      counts.rulesDeleted++;
    }
    // A new rule goes right before the next kept rule, or at the end when none follows.
    let nextKept: number | undefined;
    const placed: Array<[object, string]> = [];
    for (let j = want.length - 1; j >= 0; j--) {
      if (kept[j] !== undefined) {
        nextKept = have[kept[j]!].handle;
        continue;
      }
      const rule = want[j];
      const body = { ...where, chain, expr: rule.expr, ...(rule.comment !== undefined ? { comment: rule.comment } : {}) };
      const origin = rule.index !== undefined ? ruleset.origins[rule.index] : `junction:rule ${chain}`;
      placed.push([nextKept === undefined ? { add: { rule: body } } : { insert: { rule: { ...body, handle: nextKept } } }, origin]);
      counts.rulesAdded++;
    }
    ruleAdds.push(...placed.reverse());
  }

  // What the desired table no longer has, after the rules that referred to it.
  for (const name of kernel.chains.keys()) {
    if (desired.chains.has(name)) continue;
    ruleDeletes.push([{ flush: { chain: { ...where, name } } }, `junction:chain ${name}`]);
    counts.rulesDeleted += kernel.rules.get(name)?.length ?? 0;
  }
  // Maps first: a verdict map's elements hold the chains they jump to (EBUSY otherwise).
  for (const [name, line] of kernel.sets) if (!desired.sets.has(name)) deletes.push([{ delete: { [line.startsWith('map ') ? 'map' : 'set']: { ...where, name } } }, `junction:set ${name}`]);
  for (const name of kernel.counters.keys()) if (!desired.counters.has(name)) deletes.push([{ delete: { counter: { ...where, name } } }, `junction:counter ${name}`]);
  for (const name of kernel.flowtables.keys()) if (!desired.flowtables.has(name)) deletes.push([{ delete: { flowtable: { ...where, name } } }, `junction:flowtable ${name}`]);
  for (const name of kernel.chains.keys()) if (!desired.chains.has(name)) deletes.push([{ delete: { chain: { ...where, name } } }, `junction:chain ${name}`]);
  counts.objects += deletes.length;

  const commands = [...adds, ...elementChanges, ...ruleDeletes, ...setReplacements, ...ruleAdds, ...deletes];
  if (!commands.length) return undefined;
  const summary = `delta: +${counts.rulesAdded}/-${counts.rulesDeleted} rules, +${counts.elementsAdded}/-${counts.elementsDeleted} elements, ${counts.objects} chains/sets/counters added or deleted`;
  return { nftables: commands.map(([command]) => command), origins: commands.map(([, origin]) => origin), whole: false, summary, ...(needsHandles ? { needsHandles } : {}) };
}
