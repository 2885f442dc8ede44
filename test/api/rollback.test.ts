// A commit whose last step fails is undone everywhere: the address and the
// route it added are removed again, and the revision does not move.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { documentValidator } from '../../appliance/model/validate.js';

const validateConfig = documentValidator();
import type { FirewallArtifact } from '../../appliance/subsystems/firewall/driver.js';
import { NO_CAPABILITIES } from '../../appliance/platform/capabilities.js';
import { mutating, smallConfig, startHarness, type Harness } from './support/harness.js';

describe('rollback of a failed apply', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    expect((await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: smallConfig() })).statusCode).toBe(200);
  });
  afterEach(() => h.close());

  /** r1 plus an address on vpc1, a route and a rule. */
  function secondDocument() {
    const doc = smallConfig();
    doc.interfaces[2].addresses.push('10.3.0.1/24');
    doc.routes.static.push({ id: 'onprem', destination: '192.168.0.0/16', via: '10.3.0.254' });
    doc.firewall.policies[0].rules.push({ id: 'ssh', action: 'drop', services: ['tcp/22'] });
    return doc;
  }

  it('nft apply fails: 500 apply_failed (firewall, rolled back), address and route removed again, revision unchanged', async () => {
    const kernelBefore = JSON.stringify([[...h.kernel.links.values()], h.kernel.routes, h.kernel.table]);
    let applies = 0;
    h.kernel.fault = (c) => {
      if (c.program === 'nft' && c.args[0] === '-j' && c.args[1] === '-f') {
        applies++;
        return { code: 1, stderr: 'Error: Could not process rule: No such file or directory\n' };
      }
      return undefined;
    };
    const from = h.runner.commands.length;
    const response = await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: secondDocument() });

    expect(response.statusCode).toBe(500);
    const body = response.json();
    expect(body).toMatchObject({ error: 'apply_failed', subsystem: 'firewall', rolled_back: true });
    expect(body.message).toMatch(/^firewall: nft apply failed: Error: Could not process rule/);
    expect(body.problems).toEqual([]);
    expect(applies).toBe(1);

    expect(mutating(h.transcriptSince(from))).toEqual([
      // apply, in order: links, routes, firewall (which fails)
      'ip addr add 10.3.0.1/24 dev vpc1',
      'ip -4 route replace 192.168.0.0/16 via 10.3.0.254 metric 0 proto 77',
      expect.stringMatching(/^nft -j -f .*ruleset\.json$/),
      // undo, in reverse: the firewall already runs r1's ruleset, then routes, then links
      'ip -4 route del 192.168.0.0/16 metric 0 proto 77',
      'ip addr del 10.3.0.1/24 dev vpc1',
    ]);
    // The check ran before the failed swap.
    const nft = h.transcriptSince(from).filter((l) => / -f /.test(l));
    expect(nft.map((l) => l.split(' ')[1])).toEqual(['-c', '-j']);

    expect(JSON.stringify([[...h.kernel.links.values()], h.kernel.routes, h.kernel.table])).toBe(kernelBefore);
    expect(h.appliance.store.currentRevisionId()).toBe(1);
    const config = await h.app.inject({ method: 'GET', url: '/v1/config', headers: h.auth() });
    expect(config.json()).toEqual(smallConfig());
    const audit = (await h.app.inject({ method: 'GET', url: '/v1/audit', headers: h.auth() })).json().entries;
    expect(audit[0]).toMatchObject({ action: 'commit (api)', outcome: 'failed', revision: null });
    expect(h.log.lines.some((l) => JSON.parse(l).message === 'apply failed, rolled back')).toBe(true);
  });

  it('after the fault is gone, the same document commits as revision 2', async () => {
    h.kernel.fault = (c) => (c.program === 'nft' && c.args[0] === '-j' ? { code: 1, stderr: 'Error: boom' } : undefined);
    expect((await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: secondDocument() })).statusCode).toBe(500);
    h.kernel.fault = undefined;
    const retry = await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: secondDocument() });
    expect(retry.statusCode).toBe(200);
    expect(retry.json().revision).toMatchObject({ id: 2, parent: 1 });
    expect(h.kernel.addresses('vpc1')).toEqual(['10.2.0.1/24', '10.3.0.1/24']);
    expect(h.kernel.routes[4].map((r) => r.dst)).toEqual(['default', '192.168.0.0/16']);
  });

  it('a failing check (nft -c) is reported the same way, and the kernel is restored', async () => {
    // The kernel names the failing command by its index in the batch; the
    // answer names the document object it came from (the new rule "ssh").
    const firewall = h.appliance.drivers.find((d) => d.name === 'firewall')!;
    const artifact = firewall.render(validateConfig(secondDocument()), NO_CAPABILITIES) as FirewallArtifact;
    const index = artifact.ruleset.origins.indexOf('/firewall/policies/0/rules/1');
    expect(index).toBeGreaterThan(2);
    h.kernel.fault = (c) => (c.program === 'nft' && c.args[0] === '-c' ? { code: 1, stderr: `Error: Could not process rule: in command array at index ${index}\n` } : undefined);
    const from = h.runner.commands.length;
    const response = await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: secondDocument() });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toMatchObject({ error: 'apply_failed', subsystem: 'firewall', rolled_back: true, problems: [{ path: '/firewall/policies/0/rules/1' }] });
    expect(response.json().message).toMatch(/nft check failed/);
    const changes = mutating(h.transcriptSince(from));
    expect(changes.some((l) => l.startsWith('nft -j -f'))).toBe(false);
    expect(changes).toContain('ip addr del 10.3.0.1/24 dev vpc1');
    expect(changes).toContain('ip -4 route del 192.168.0.0/16 metric 0 proto 77');
    expect(h.appliance.store.currentRevisionId()).toBe(1);
  });

  it('when the undo fails too, the answer says rolled_back: false and lists what could not be undone', async () => {
    h.kernel.fault = (c) => {
      if (c.program === 'nft' && c.args[0] === '-j') return { code: 1, stderr: 'Error: boom' };
      if (c.program === 'ip' && c.args[0] === 'addr' && c.args[1] === 'del') return { code: 2, stderr: 'RTNETLINK answers: Operation not permitted' };
      return undefined;
    };
    const response = await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: secondDocument() });
    expect(response.statusCode).toBe(500);
    const body = response.json();
    expect(body).toMatchObject({ error: 'apply_failed', subsystem: 'firewall', rolled_back: false });
    expect(body.problems).toEqual([{ path: '', message: expect.stringMatching(/^rollback: links: ip addr del 10\.3\.0\.1\/24 dev vpc1 exited 2/) }]);
    expect(h.appliance.store.currentRevisionId()).toBe(1);
  });
});
