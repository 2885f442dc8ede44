// The periodic reconcile reads the kernel outside the commit queue (issue 14:
// at 100k rules the listing takes seconds): a commit is not held while a
// reconcile compares, and a subsystem that drifted is still repaired.
// A store in a temporary directory and a fake subsystem; no timing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Reconciler } from '../../appliance/core/reconciler.js';
import { Store } from '../../appliance/core/store.js';
import type { Subsystem } from '../../appliance/core/subsystem.js';
import { NO_CAPABILITIES } from '../../appliance/platform/capabilities.js';
import { memoryLogger } from '../support/memory-logger.js';

/** A subsystem whose kernel is one string; drift waits for `gate` while it is set. */
function fakeKernel() {
  const state = { kernel: '', drifting: 0, gate: undefined as Promise<void> | undefined };
  const subsystem: Subsystem<string> = {
    name: 'fake',
    verify: () => [],
    render: (config) => JSON.stringify(config.zones),
    describe: (artifact) => [artifact],
    snapshot: async () => state.kernel,
    drift: async (desired) => {
      state.drifting++;
      await state.gate;
      return state.kernel === desired ? [] : [`have ${state.kernel}`];
    },
    apply: async (desired) => {
      if (state.kernel === desired) return [];
      state.kernel = desired;
      return [`set ${desired}`];
    },
  };
  return { state, subsystem };
}

describe('reconcile and the commit queue', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const setUp = () => {
    dir = mkdtempSync(join(tmpdir(), 'jn-reconcile-'));
    const { state, subsystem } = fakeKernel();
    const reconciler = new Reconciler(new Store(dir), [subsystem as Subsystem], NO_CAPABILITIES, memoryLogger());
    return { state, reconciler };
  };
  const doc = (zone: string) => ({ interfaces: [], zones: [{ name: zone }] });

  it('a commit completes while a reconcile is still reading the kernel', async () => {
    const { state, reconciler } = setUp();
    await reconciler.commit({ document: doc('a'), author: 'test', source: 'api' });
    let release!: () => void;
    state.gate = new Promise((resolve) => (release = resolve));
    const reconciling = reconciler.reconcile();
    await expect.poll(() => state.drifting).toBe(1);
    const committed = await reconciler.commit({ document: doc('b'), author: 'test', source: 'api' });
    expect(committed.revision?.id).toBe(2);
    expect(state.kernel).toBe(JSON.stringify([{ name: 'b' }]));
    release();
    expect(await reconciling).toMatchObject({ revision: 2, repaired: {}, errors: {} });
  });

  it('drift found outside the queue is compared again and repaired inside it', async () => {
    const { state, reconciler } = setUp();
    await reconciler.commit({ document: doc('a'), author: 'test', source: 'api' });
    state.kernel = 'changed by hand';
    expect(await reconciler.reconcile()).toMatchObject({ repaired: { fake: ['have changed by hand'] }, errors: {} });
    expect(state.kernel).toBe(JSON.stringify([{ name: 'a' }]));
  });
});
