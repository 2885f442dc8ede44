// A commit whose last step fails is undone everywhere: the address and the
// route it added are removed again, and the revision does not move.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
      expect.stringMatching(/^nft -j -f .*ruleset\.json( -e)?$/),
      // undo, in reverse: the firewall already runs r1's ruleset, then routes, then links
      'ip -4 route del 192.168.0.0/16 metric 0 proto 77',
      'ip addr del 10.3.0.1/24 dev vpc1',
    ]);
    // One transaction, no separate check: a failed batch changes nothing.
    const nft = h.transcriptSince(from).filter((l) => / -f /.test(l));
    expect(nft.map((l) => l.split(' ')[1])).toEqual(['-j']);

    expect(JSON.stringify([[...h.kernel.links.values()], h.kernel.routes, h.kernel.table])).toBe(kernelBefore);
    expect(h.appliance.store.currentRevisionId()).toBe(1);
    const config = await h.app.inject({ method: 'GET', url: '/v1/config', headers: h.auth() });
    expect(config.json()).toEqual(smallConfig());
    const audit = (await h.app.inject({ method: 'GET', url: '/v1/audit', headers: h.auth() })).json().entries;
    expect(audit[0]).toMatchObject({ action: 'commit (api)', outcome: 'failed', revision: null });
    expect(h.log.lines.some((l) => JSON.parse(l).message === 'apply failed, rolled back')).toBe(true);
  });

  it('after the fault is gone, the same document commits as revision 2', async () => {
    h.kernel.fault = (c) => (c.program === 'nft' && c.args[0] === '-j' && c.args[1] === '-f' ? { code: 1, stderr: 'Error: boom' } : undefined);
    expect((await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: secondDocument() })).statusCode).toBe(500);
    h.kernel.fault = undefined;
    const retry = await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: secondDocument() });
    expect(retry.statusCode).toBe(200);
    expect(retry.json().revision).toMatchObject({ id: 2, parent: 1 });
    expect(h.kernel.addresses('vpc1')).toEqual(['10.2.0.1/24', '10.3.0.1/24']);
    expect(h.kernel.routes[4].map((r) => r.dst)).toEqual(['default', '192.168.0.0/16']);
  });

  it('nft names the failing command of the delta by index; the answer names the document object it came from', async () => {
    // The delta adds the new rule's set (its run of one rule, with its element); the kernel
    // refuses the set: the path is the rule's (/firewall/policies/0/rules/1).
    let refused: object | undefined;
    h.kernel.fault = (c) => {
      if (c.program !== 'nft' || c.args[0] !== '-j' || c.args[1] !== '-f') return undefined;
      const batch = JSON.parse(readFileSync(c.args[2], 'utf8')) as { nftables: Array<{ add?: { set?: { elem?: unknown[] } } }> };
      const index = batch.nftables.findIndex((command) => /[[,]6,22\]/.test(JSON.stringify(command.add?.set?.elem ?? [])));
      refused = batch.nftables[index];
      return { code: 1, stderr: `Error: Could not process rule: in command array at index ${index}\n` };
    };
    const from = h.runner.commands.length;
    const response = await h.app.inject({ method: 'PUT', url: '/v1/config', headers: h.auth(), payload: secondDocument() });
    expect(refused).toBeDefined();
    expect(response.statusCode).toBe(500);
    expect(response.json()).toMatchObject({ error: 'apply_failed', subsystem: 'firewall', rolled_back: true, problems: [{ path: '/firewall/policies/0/rules/1' }] });
    expect(response.json().message).toMatch(/nft apply failed/);
    const changes = mutating(h.transcriptSince(from));
    expect(changes).toContain('ip addr del 10.3.0.1/24 dev vpc1');
    expect(changes).toContain('ip -4 route del 192.168.0.0/16 metric 0 proto 77');
    expect(h.appliance.store.currentRevisionId()).toBe(1);
  });

  it('when the undo fails too, the answer says rolled_back: false and lists what could not be undone', async () => {
    h.kernel.fault = (c) => {
      if (c.program === 'nft' && c.args[0] === '-j' && c.args[1] === '-f') return { code: 1, stderr: 'Error: boom' };
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
