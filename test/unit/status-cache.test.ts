// GET /v1/status is served from a cache (issue 14): reads do not collect per
// request, the answer states its age and the bound, a report older than the
// bound is never served, and invalidate() (a commit) makes the next read fresh.
// A fake clock and a counting subsystem; no timing assertions.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StatusService } from '../../appliance/core/status.js';
import { NO_CAPABILITIES } from '../../appliance/platform/capabilities.js';
import type { Subsystem } from '../../appliance/core/subsystem.js';

function counting() {
  const state = { collections: 0, release: [] as Array<() => void>, hold: false };
  const subsystem = {
    name: 'probe',
    statusReport: async () => {
      const n = ++state.collections;
      if (state.hold) await new Promise<void>((resolve) => state.release.push(resolve));
      return { probe: { collection: n } };
    },
  } as unknown as Subsystem;
  return { state, subsystem };
}

describe('status cache', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  const service = (subsystem: Subsystem) => new StatusService([subsystem], () => ({ revision: 7, capabilities: NO_CAPABILITIES }), 1000, 3000);

  it('concurrent reads share one collection; later reads inside the bound do not collect again', async () => {
    const { state, subsystem } = counting();
    const status = service(subsystem);
    const reads = await Promise.all(Array.from({ length: 32 }, () => status.report()));
    expect(state.collections).toBe(1);
    expect(reads.every((r) => r.probe && (r.probe as { collection: number }).collection === 1)).toBe(true);
    vi.setSystemTime(1_000_500);
    const later = await status.report();
    expect(state.collections).toBe(1);
    expect(later).toMatchObject({ cached_age_ms: 500, max_age_ms: 3000, revision: 7 });
  });

  it('past the refresh age the cached report is served while a new one is collected in the background', async () => {
    const { state, subsystem } = counting();
    const status = service(subsystem);
    await status.report();
    vi.setSystemTime(1_001_500);
    state.hold = true;
    const stale = await status.report();
    expect(stale).toMatchObject({ probe: { collection: 1 }, cached_age_ms: 1500 });
    expect(state.collections).toBe(2);
    state.release.shift()!();
    await vi.waitFor(async () => expect((await status.report()).probe).toEqual({ collection: 2 }));
  });

  it('a report older than the bound is never served: the read waits for a fresh one', async () => {
    const { state, subsystem } = counting();
    const status = service(subsystem);
    await status.report();
    vi.setSystemTime(1_003_001);
    const fresh = await status.report();
    expect(state.collections).toBe(2);
    expect(fresh).toMatchObject({ probe: { collection: 2 }, cached_age_ms: 0 });
    expect(fresh.cached_age_ms).toBeLessThanOrEqual(fresh.max_age_ms);
  });

  it('after invalidate() the next read collects again, and a collection started before it is not cached', async () => {
    const { state, subsystem } = counting();
    const status = service(subsystem);
    state.hold = true;
    const before = status.report();
    status.invalidate();
    state.hold = false;
    const after = await status.report();
    expect(after.probe).toEqual({ collection: 2 });
    state.release.shift()!();
    expect((await before).probe).toEqual({ collection: 1 });
    expect((await status.report()).probe).toEqual({ collection: 2 });
    expect(state.collections).toBe(2);
  });
});

describe('status as JSON text', () => {
  it('is the same report as report(), with the extra fields, and the cached parts are not re-collected', async () => {
    const { state, subsystem } = counting();
    const status = new StatusService([subsystem], () => ({ revision: 3, capabilities: NO_CAPABILITIES, reconcile: { repaired: {} } }));
    const parsed = JSON.parse(await status.reportJson({ pending_confirm: null })) as Record<string, unknown>;
    const { cached_age_ms: _a, ...report } = await status.report();
    const { cached_age_ms: _b, ...rest } = parsed;
    expect(rest).toEqual({ ...report, pending_confirm: null });
    expect(rest).toMatchObject({ revision: 3, probe: { collection: 1 }, reconcile: { repaired: {} } });
    expect(state.collections).toBe(1);
  });

  it('serializes the core figures once per change, and a new revision or reconcile shows at the next read', async () => {
    const { subsystem } = counting();
    const live = { revision: 3 as number | null, capabilities: NO_CAPABILITIES, reconcile: { repaired: {} } as unknown };
    const status = new StatusService([subsystem], () => ({ ...live }));
    const read = async () => JSON.parse(await status.reportJson({})) as Record<string, unknown>;
    expect(await read()).toMatchObject({ revision: 3, reconcile: { repaired: {} }, max_age_ms: 3000 });
    live.revision = 4;
    expect((await read()).revision).toBe(4);
    live.reconcile = { repaired: { firewall: ['x'] } };
    expect((await read()).reconcile).toEqual({ repaired: { firewall: ['x'] } });
    live.reconcile = undefined;
    expect(await read()).not.toHaveProperty('reconcile');
  });
});
