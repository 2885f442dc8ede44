// The delta transaction from the kernel's table to the rendered one, as a
// transcript of nft commands: kept rules are never touched (their counters
// keep counting), new ones go where they belong, a map element that changes
// its value is deleted before it is added, maps go before the chains their
// elements jump to, and a change nft cannot make in place replaces the table
// with the counters' values carried over.
import { describe, expect, it } from 'vitest';
import { tableContent } from '../../appliance/subsystems/firewall/content.js';
import { nftTransaction } from '../../appliance/subsystems/firewall/delta.js';
import type { CompiledRuleset } from '../../rules/index.js';

const where = { family: 'inet', table: 'junction' };
const accept = [{ accept: null }];
const drop = [{ drop: null }];

/** A rendered batch: the table replaced, then the given objects added, each with an origin. */
function batch(objects: Array<[object, string]>): CompiledRuleset {
  const head: Array<[object, string]> = [
    [{ add: { table: { family: 'inet', name: 'junction' } } }, 'junction:table'],
    [{ delete: { table: { family: 'inet', name: 'junction' } } }, 'junction:table'],
    [{ add: { table: { family: 'inet', name: 'junction' } } }, 'junction:table'],
  ];
  const all = [...head, ...objects];
  return { nftables: all.map(([o]) => o), origins: all.map(([, origin]) => origin), ruleCounters: { rules: [], sets: [] }, logging: false, stats: { rules: 0, elements: 0, lookups: 0 } };
}
const chain = (name: string, base?: object): [object, string] => [{ add: { chain: { ...where, name, ...base } } }, `/chains/${name}`];
const rule = (c: string, comment: string, expr: unknown[]): [object, string] => [{ add: { rule: { ...where, chain: c, comment, expr } } }, `/rules/${comment}`];
const verdictMap = (name: string, elem: unknown[]): [object, string] => [{ add: { map: { ...where, name, type: 'ifname', map: 'verdict', elem } } }, `/maps/${name}`];
const counter = (name: string): [object, string] => [{ add: { counter: { ...where, name } } }, `/counters/${name}`];
/** A listing: bare objects with handles (and counter values). */
const listing = (objects: object[]) => tableContent([{ table: { family: 'inet', name: 'junction', handle: 1 } }, ...objects]);

describe('nftTransaction', () => {
  it('keeps unchanged rules, deletes the dropped one by handle, inserts a new one before the next kept rule and appends the last', () => {
    const kernel = listing([
      { chain: { ...where, name: 'c', handle: 1 } },
      { rule: { ...where, chain: 'c', comment: 'A', expr: accept, handle: 10 } },
      { rule: { ...where, chain: 'c', comment: 'B', expr: accept, handle: 11 } },
      { rule: { ...where, chain: 'c', comment: 'C', expr: accept, handle: 12 } },
    ]);
    const rendered = batch([chain('c'), rule('c', 'A', accept), rule('c', 'X', drop), rule('c', 'C', accept), rule('c', 'Y', drop)]);
    const transaction = nftTransaction(kernel, tableContent(rendered.nftables), rendered)!;
    expect(transaction.whole).toBe(false);
    expect(transaction.nftables).toEqual([
      { delete: { rule: { ...where, chain: 'c', handle: 11 } } },
      { insert: { rule: { ...where, chain: 'c', expr: drop, comment: 'X', handle: 12 } } },
      { add: { rule: { ...where, chain: 'c', expr: drop, comment: 'Y' } } },
    ]);
    // each command keeps the document path it came from, for nft's error index
    expect(transaction.origins).toEqual(['junction:rule c', '/rules/X', '/rules/Y']);
    expect(nftTransaction(tableContent(rendered.nftables), tableContent(rendered.nftables), rendered)).toBeUndefined();
  });

  it('a map element that changes its value is deleted, then added; a removed map goes before the chain its elements jump to', () => {
    const kernel = listing([
      { chain: { ...where, name: 'pol_a', handle: 1 } },
      { chain: { ...where, name: 'pol_b', handle: 2 } },
      { map: { ...where, name: 'dispatch', type: 'ifname', map: 'verdict', handle: 3, elem: [['vpc0', { jump: { target: 'pol_a' } }]] } },
      { map: { ...where, name: 'old_dispatch', type: 'ifname', map: 'verdict', handle: 4, elem: [['vpc1', { jump: { target: 'pol_b' } }]] } },
    ]);
    const rendered = batch([chain('pol_a'), verdictMap('dispatch', [['vpc0', { drop: null }]])]);
    const transaction = nftTransaction(kernel, tableContent(rendered.nftables), rendered)!;
    expect(transaction.nftables).toEqual([
      { delete: { element: { ...where, name: 'dispatch', elem: [['vpc0', { jump: { target: 'pol_a' } }]] } } },
      { add: { element: { ...where, name: 'dispatch', elem: [['vpc0', { drop: null }]] } } },
      { flush: { chain: { ...where, name: 'pol_b' } } },
      { delete: { map: { ...where, name: 'old_dispatch' } } },
      { delete: { chain: { ...where, name: 'pol_b' } } },
    ]);
  });

  it('a set that changes its flags is deleted and added again in the same transaction, with the rule that looks it up; no whole table', () => {
    const lookup = (set: string) => [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: `@${set}` } }, ...accept];
    const kernel = listing([
      { chain: { ...where, name: 'c', handle: 1 } },
      { set: { ...where, name: 's', type: 'ipv4_addr', handle: 2, elem: ['10.0.0.1'] } },
      { set: { ...where, name: 'other', type: 'ipv4_addr', handle: 3, elem: ['10.0.0.9'] } },
      { rule: { ...where, chain: 'c', comment: 'uses-s', expr: lookup('s'), handle: 10 } },
      { rule: { ...where, chain: 'c', comment: 'uses-other', expr: lookup('other'), handle: 11 } },
    ]);
    const intervalSet: [object, string] = [{ add: { set: { ...where, name: 's', type: 'ipv4_addr', flags: ['interval'], elem: [{ prefix: { addr: '10.0.0.0', len: 24 } }] } } }, '/sets/s'];
    const otherSet: [object, string] = [{ add: { set: { ...where, name: 'other', type: 'ipv4_addr', elem: ['10.0.0.9'] } } }, '/sets/other'];
    const rendered = batch([chain('c'), intervalSet, otherSet, rule('c', 'uses-s', lookup('s')), rule('c', 'uses-other', lookup('other'))]);
    const transaction = nftTransaction(kernel, tableContent(rendered.nftables), rendered)!;
    expect(transaction.whole).toBe(false);
    expect(transaction.nftables).toEqual([
      { delete: { rule: { ...where, chain: 'c', handle: 10 } } },
      { delete: { set: { ...where, name: 's' } } },
      intervalSet[0],
      { insert: { rule: { ...where, chain: 'c', expr: lookup('s'), comment: 'uses-s', handle: 11 } } },
    ]);
  });

  it('new counters, chains and maps come first; a counter no rule uses any more is deleted after the rule that used it', () => {
    const kernel = listing([
      { chain: { ...where, name: 'c', handle: 1 } },
      { counter: { ...where, name: 'rule_old', handle: 2, packets: 5, bytes: 500 } },
      { counter: { ...where, name: 'rule_kept', handle: 3, packets: 7, bytes: 700 } },
      { rule: { ...where, chain: 'c', comment: 'old', expr: [{ counter: 'rule_old' }, ...accept], handle: 10 } },
      { rule: { ...where, chain: 'c', comment: 'kept', expr: [{ counter: 'rule_kept' }, ...accept], handle: 11 } },
    ]);
    const rendered = batch([chain('c'), counter('rule_kept'), counter('rule_new'), rule('c', 'kept', [{ counter: 'rule_kept' }, ...accept]), rule('c', 'new', [{ counter: 'rule_new' }, ...drop])]);
    const transaction = nftTransaction(kernel, tableContent(rendered.nftables), rendered)!;
    expect(transaction.nftables).toEqual([
      { add: { counter: { ...where, name: 'rule_new' } } },
      { delete: { rule: { ...where, chain: 'c', handle: 10 } } },
      { add: { rule: { ...where, chain: 'c', expr: [{ counter: 'rule_new' }, ...drop], comment: 'new' } } },
      { delete: { counter: { ...where, name: 'rule_old' } } },
    ]);
    // rule_kept is not in the transaction at all: its 7 packets stay
    expect(JSON.stringify(transaction.nftables)).not.toContain('rule_kept');
  });

  it('a base chain that changes its policy replaces the whole table, and named counters start from their current values', () => {
    const kernel = listing([
      { chain: { ...where, name: 'forward', handle: 1, type: 'filter', hook: 'forward', prio: 0, policy: 'accept' } },
      { counter: { ...where, name: 'rule_kept', handle: 2, packets: 7, bytes: 700 } },
    ]);
    const rendered = batch([chain('forward', { type: 'filter', hook: 'forward', prio: 0, policy: 'drop' }), counter('rule_kept')]);
    const transaction = nftTransaction(kernel, tableContent(rendered.nftables), rendered)!;
    expect(transaction.whole).toBe(true);
    expect(transaction.summary).toMatch(/chain forward changes its hook or policy/);
    expect(transaction.nftables).toContainEqual({ add: { counter: { ...where, name: 'rule_kept', packets: 7, bytes: 700 } } });
    expect(transaction.origins).toEqual(rendered.origins);
  });

  it('no table in the kernel: the rendered batch as it is', () => {
    const rendered = batch([chain('c'), rule('c', 'A', accept)]);
    expect(nftTransaction(undefined, tableContent(rendered.nftables), rendered)).toMatchObject({ whole: true, nftables: rendered.nftables, origins: rendered.origins });
  });
});
