import { describe, expect, it } from 'vitest';
import { applyAll } from '../../appliance/core/apply-all.js';
import { sameJson } from '../../appliance/model/diff.js';
import type { Subsystem } from '../../appliance/core/subsystem.js';
import { memoryLogger } from '../support/memory-logger.js';

// A commit leaves a subsystem alone when its artifact equals the running one
// (its plan is empty); everything else is applied, in order.
function recording(name: string, seen: string[]): Subsystem {
  return {
    name,
    verify: () => [],
    render: () => ({}),
    describe: () => [],
    snapshot: async () => ({}),
    drift: async () => [],
    apply: async (desired: unknown) => {
      seen.push(`${name} ${JSON.stringify(desired)}`);
      return [`applied ${name}`];
    },
  } as unknown as Subsystem;
}

describe('applyAll', () => {
  it('skips a subsystem whose artifact equals the running one, and applies the others', async () => {
    const seen: string[] = [];
    const subsystems = [recording('links', seen), recording('routes', seen)];
    const running = new Map<string, unknown>([['links', { mtu: 1500, names: ['a'] }], ['routes', { routes: ['x'] }]]);
    const artifacts = new Map<string, unknown>([['links', { names: ['a'], mtu: 1500 }], ['routes', { routes: ['x', 'y'] }]]);
    const timings: Record<string, number> = {};
    const actions = await applyAll(subsystems, artifacts, memoryLogger(), { running }, timings);
    expect(actions).toEqual({ links: [], routes: ['applied routes'] });
    expect(seen).toEqual(['routes {"routes":["x","y"]}']);
    expect(Object.keys(timings)).toEqual(['routes']);
  });

  it('applies everything when nothing is known to run (first commit, or a reconcile that failed)', async () => {
    const seen: string[] = [];
    const artifacts = new Map<string, unknown>([['links', { mtu: 1500 }]]);
    expect(await applyAll([recording('links', seen)], artifacts, memoryLogger())).toEqual({ links: ['applied links'] });
  });

  it('compares artifacts as JSON, and a Map or a class instance in one is equal only to itself', () => {
    expect(sameJson({ a: [1, { b: 2 }] }, { b: undefined, a: [1, { b: 2 }] })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameJson(new Map([[1, 2]]), new Map([[1, 3]]))).toBe(false);
    expect(sameJson({ m: new Set([1]) }, { m: new Set([1]) })).toBe(false);
    const shared = new Map([[1, 2]]);
    expect(sameJson({ m: shared }, { m: shared })).toBe(true);
  });
});
