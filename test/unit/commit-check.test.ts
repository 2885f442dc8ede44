// check() asks the live system whether apply can do what the artifact wants
// (links: can the sysctls be set). A subsystem whose artifact equals the one
// running is not applied, so it is not checked either: a one-rule commit
// spawned a `sysctl -n` per sysctl for nothing. A store in a temporary
// directory and a fake subsystem.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Reconciler } from '../../appliance/core/reconciler.js';
import { Store } from '../../appliance/core/store.js';
import type { Subsystem } from '../../appliance/core/subsystem.js';
import { NO_CAPABILITIES } from '../../appliance/platform/capabilities.js';
import { memoryLogger } from '../support/memory-logger.js';

function checkedSubsystem() {
  const seen = { checks: [] as string[], applies: [] as string[] };
  const subsystem: Subsystem<string> = {
    name: 'fake',
    verify: () => [],
    render: (config) => JSON.stringify(config.zones),
    describe: (artifact) => [artifact],
    check: async (desired) => {
      seen.checks.push(desired);
      return [];
    },
    snapshot: async () => '',
    drift: async () => [],
    apply: async (desired) => {
      seen.applies.push(desired);
      return [`set ${desired}`];
    },
  };
  return { seen, subsystem };
}

describe('check before apply', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const doc = (zone: string, comment: string) => ({ interfaces: [], zones: [{ name: zone, description: comment }] });

  it('checks a changed artifact, and not one that equals the running one', async () => {
    dir = mkdtempSync(join(tmpdir(), 'jn-commit-check-'));
    const { seen, subsystem } = checkedSubsystem();
    const reconciler = new Reconciler(new Store(dir), [subsystem as Subsystem], NO_CAPABILITIES, memoryLogger());
    await reconciler.commit({ document: doc('a', 'one'), author: 'test', source: 'api' });
    expect(seen.checks).toHaveLength(1);
    // the same document again (another comment): rendered anew, equal to the running artifact
    const rendered = JSON.stringify([{ name: 'a', description: 'one' }]);
    await reconciler.commit({ document: doc('a', 'one'), author: 'test', source: 'api', comment: 'again' });
    expect(seen.checks).toEqual([rendered]);
    expect(seen.applies).toEqual([rendered]);
    await reconciler.commit({ document: doc('b', 'one'), author: 'test', source: 'api' });
    expect(seen.checks).toEqual([rendered, JSON.stringify([{ name: 'b', description: 'one' }])]);
    expect(seen.applies).toHaveLength(2);
  });
});
