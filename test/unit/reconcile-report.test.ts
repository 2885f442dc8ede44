// The reconcile and boot reports say what happened (issue 8, item 3): a
// clean system reports nothing, drift is reported with what differed, a
// repair that did not take is an error rather than a claimed repair, and a
// boot on a kernel that already matches changes nothing. Fake kernel.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_YAML, mutating, startHarness, type Harness } from '../api/support/harness.js';
import { createAppliance } from '../../appliance/main/appliance.js';
import { NO_CAPABILITIES } from '../../appliance/platform/capabilities.js';
import { memoryLogger } from '../support/memory-logger.js';

describe('reconcile and boot reports', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    const put = await h.app.inject({ method: 'PUT', url: '/v1/config', headers: { ...h.auth(), 'content-type': 'application/yaml' }, payload: DEMO_YAML });
    expect(put.statusCode, put.body).toBe(200);
  });
  afterEach(() => h.close());

  const reconcile = async () => {
    const response = await h.app.inject({ method: 'POST', url: '/v1/reconcile', headers: h.auth() });
    expect(response.statusCode).toBe(200);
    return response.json() as { repaired: Record<string, string[]>; errors: Record<string, string> };
  };

  it('a clean system: nothing repaired, nothing run that changes anything', async () => {
    const from = h.runner.commands.length;
    expect(await reconcile()).toMatchObject({ repaired: {}, errors: {} });
    expect(Object.keys((await reconcile()).repaired)).toEqual([]);
    expect(mutating(h.transcriptSince(from))).toEqual([]);
  });

  it('a set element added by hand is reported by content and removed', async () => {
    type ListedSet = { set?: { name: string; elem?: unknown[] } };
    const counted = () => h.kernel.nft.objects!.find((o) => JSON.stringify((o as ListedSet).set?.elem ?? []).includes('"10.2.0.11",6,5432')) as Required<ListedSet>;
    const { set } = counted();
    const hole = JSON.parse(JSON.stringify(set.elem![0]).replace(',6,5432', ',6,22')) as unknown;
    set.elem!.push(hole);
    const report = await reconcile();
    expect(report.errors).toEqual({});
    expect(report.repaired).toEqual({ firewall: [`unexpected: element ${set.name} ${JSON.stringify(hole)}`] });
    const repaired = counted().set;
    expect(JSON.stringify(repaired.elem)).not.toContain(',22]');
    expect(JSON.stringify(repaired.elem)).toContain(',6,5432]');
  });

  it('a repair that does not take is an error, not a claimed repair', async () => {
    h.kernel.routes[4] = [];
    // the kernel answers the route change but keeps nothing
    h.kernel.fault = (c) => (c.program === 'ip' && c.args.includes('replace') ? { code: 0 } : undefined);
    const report = await reconcile();
    expect(report.repaired.routes).toBeUndefined();
    expect(report.errors.routes).toMatch(/^still drifted after repair: ip -4 route replace 0\.0\.0\.0\/0 via 100\.64\.0\.1/);
  });

  it('a restart on a kernel that already matches: boot changes nothing and reports no repair', async () => {
    // a second appliance on the same state dir and kernel: a new process, nothing in memory
    const restarted = createAppliance({ stateDir: h.stateDir, runner: h.runner, capabilities: NO_CAPABILITIES, log: memoryLogger() });
    try {
      const from = h.runner.commands.length;
      const report = await restarted.reconciler.boot();
      expect(report.revision).toBe(1);
      expect(report.errors).toEqual({});
      expect(report.repaired).toEqual({});
      expect(mutating(h.transcriptSince(from))).toEqual([]);
    } finally {
      restarted.close();
    }
  });
});
