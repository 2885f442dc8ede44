// system.hostname end to end: the real `junction serve` sets the hostname of
// its own UTS namespace (as the lab kit runs it, under `unshare --uts`), and
// repairs drift; run like `ip netns exec` alone, sharing the machine's UTS
// namespace, it must not rename the machine, and the commit says so.
import { readFileSync, readlinkSync, rmSync } from 'node:fs';
import { hostname as machineHostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { requireRoot, uniquePrefix, withLab } from './support/lab-fixture.js';
import { startJunction, type RunningJunction } from './support/junction.js';

const root = requireRoot();
const demo = parseYaml(readFileSync(fileURLToPath(new URL('../lab-kit/demo.yaml', import.meta.url)), 'utf8')) as Record<string, any>;

describe.skipIf(!root.isRoot)('system.hostname', () => {
  const lab = withLab({ prefix: uniquePrefix('h') }, root.isRoot);
  const machine = machineHostname();

  async function withJunction(ownUts: boolean, body: (junction: RunningJunction) => Promise<void>): Promise<void> {
    const junction = await startJunction(lab(), { ownUts });
    try {
      await body(junction);
    } finally {
      await junction.stop();
      rmSync(junction.stateDir, { recursive: true, force: true });
    }
  }
  /** the hostname of Junction's UTS namespace, read from inside the lab's router namespace */
  const junctionHostname = async (pid: number) =>
    (await lab().exec('router', ['nsenter', '-t', String(pid), '-u', 'hostname'], { check: true })).stdout.trim();

  it('in its own UTS namespace: set, the machine untouched, drift repaired', async () => {
    await withJunction(true, async (junction) => {
      const pid = junction.process.pid;
      expect(readlinkSync(`/proc/${pid}/ns/uts`)).not.toBe(readlinkSync('/proc/self/ns/uts'));
      const doc = { ...demo, system: { ...demo.system, hostname: 'jn-hostname-test' } };
      const put = await junction.api('PUT', '/v1/config', doc);
      expect(put.status, put.text).toBe(200);
      expect(put.body.warnings).toBeUndefined();
      expect(put.body.actions.system).toEqual(['hostname jn-hostname-test']);
      expect(await junctionHostname(pid)).toBe('jn-hostname-test');
      expect(machineHostname()).toBe(machine);
      // changed by hand: the reconcile puts it back
      await lab().exec('router', ['nsenter', '-t', String(pid), '-u', 'hostname', 'tampered'], { check: true });
      const reconcile = await junction.api('POST', '/v1/reconcile');
      expect(reconcile.status, reconcile.text).toBe(200);
      expect(reconcile.body.repaired?.system).toEqual(['hostname is "tampered", want "jn-hostname-test"']);
      expect(await junctionHostname(pid)).toBe('jn-hostname-test');
      expect(machineHostname()).toBe(machine);
    });
  });

  it("sharing the machine's UTS namespace (ip netns exec alone): not set, and the commit and plan say why", async () => {
    await withJunction(false, async (junction) => {
      const pid = junction.process.pid;
      expect(readlinkSync(`/proc/${pid}/ns/uts`)).toBe(readlinkSync('/proc/self/ns/uts')); // this test runs in the machine's
      const doc = { ...demo, system: { ...demo.system, hostname: 'jn-must-not-rename' } };
      const put = await junction.api('PUT', '/v1/config', doc);
      expect(put.status, put.text).toBe(200);
      expect(put.body.warnings).toEqual([expect.objectContaining({ path: '/system/hostname', severity: 'warning', message: expect.stringMatching(/^not applied: Junction shares the machine's UTS namespace.*rename the machine/) })]);
      const plan = put.body.plan.subsystems.find((s: { subsystem: string }) => s.subsystem === 'system');
      expect(plan.add).toEqual(['hostname jn-must-not-rename (not applied: Junction does not own its UTS namespace)']);
      expect(put.body.actions.system).toEqual([]);
      expect(machineHostname()).toBe(machine);
      expect(await junctionHostname(pid)).toBe(machine);
    });
  });
});
