import { describe, expect, it } from 'vitest';
import { applyAll, unchangedSubsystems } from '../../appliance/core/apply-all.js';
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
    expect([...unchangedSubsystems(running, artifacts)]).toEqual(['links']);
    const actions = await applyAll(subsystems, artifacts, memoryLogger(), { unchanged: unchangedSubsystems(running, artifacts) }, timings);
    expect(actions).toEqual({ links: [], routes: ['applied routes'] });
    expect(seen).toEqual(['routes {"routes":["x","y"]}']);
    expect(Object.keys(timings)).toEqual(['routes']);
  });

  it('applies everything when nothing is known to run (first commit, or a reconcile that failed)', async () => {
    const seen: string[] = [];
    const artifacts = new Map<string, unknown>([['links', { mtu: 1500 }]]);
    expect(unchangedSubsystems(undefined, artifacts).size).toBe(0);
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

  describe('the commit\'s kernel-free work (meanwhile)', () => {
    /** a subsystem whose apply calls meanwhile while it "waits for the kernel", recording the order */
    const waiting = (name: string, seen: string[], fail = false): Subsystem =>
      ({
        ...recording(name, seen),
        snapshot: async () => 'old',
        apply: async (desired: unknown, options?: { meanwhile?: () => void }) => {
          seen.push(`${name} starts ${JSON.stringify(desired)}`);
          options?.meanwhile?.();
          if (fail && desired !== 'old') throw new Error(`${name} refused`);
          seen.push(`${name} done ${JSON.stringify(desired)}`);
          return [`applied ${name}`];
        },
      }) as unknown as Subsystem;

    it('runs once, while the first subsystem that waits for the kernel waits', async () => {
      const seen: string[] = [];
      const artifacts = new Map<string, unknown>([['firewall', 'new'], ['bgp', 'new']]);
      await applyAll([waiting('firewall', seen), waiting('bgp', seen)], artifacts, memoryLogger(), { meanwhile: () => seen.push('meanwhile') });
      expect(seen).toEqual(['firewall starts "new"', 'meanwhile', 'firewall done "new"', 'bgp starts "new"', 'bgp done "new"']);
    });

    it('runs after the last subsystem when none waited (or all were unchanged)', async () => {
      const seen: string[] = [];
      const artifacts = new Map<string, unknown>([['links', 'same']]);
      await applyAll([recording('links', seen)], artifacts, memoryLogger(), { unchanged: new Set(['links']), meanwhile: () => seen.push('meanwhile') });
      expect(seen).toEqual(['meanwhile']);
    });

    it('a failure of it rolls every applied subsystem back, so the kernel is never ahead of the store', async () => {
      const seen: string[] = [];
      const artifacts = new Map<string, unknown>([['firewall', 'new']]);
      const applying = applyAll([waiting('firewall', seen)], artifacts, memoryLogger(), {
        meanwhile: () => {
          throw new Error('plan bug');
        },
      });
      await expect(applying).rejects.toMatchObject({ name: 'CommitFailed', subsystem: 'commit', message: 'plan bug', rolledBack: true });
      expect(seen).toEqual(['firewall starts "new"', 'firewall done "new"', 'firewall starts "old"', 'firewall done "old"']);
    });

    it('a subsystem that fails is rolled back with the ones before it, and names itself', async () => {
      const seen: string[] = [];
      const artifacts = new Map<string, unknown>([['links', 'new'], ['firewall', 'new']]);
      const applying = applyAll([waiting('links', seen), waiting('firewall', seen, true)], artifacts, memoryLogger(), { meanwhile: () => seen.push('meanwhile') });
      await expect(applying).rejects.toMatchObject({ name: 'CommitFailed', subsystem: 'firewall', message: 'firewall refused', rolledBack: true });
      expect(seen).toEqual(['links starts "new"', 'meanwhile', 'links done "new"', 'firewall starts "new"', 'firewall starts "old"', 'firewall done "old"', 'links starts "old"', 'links done "old"']);
    });
  });
});
