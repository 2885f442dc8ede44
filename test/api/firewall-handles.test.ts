// A small delta is applied with `nft -e` and the added rules' handles are
// kept (issue 14): at 100k rules listing one chain costs nft seconds, so the
// next delta that replaces a rule of that chain uses the known handles
// instead. The kernel still ends up with exactly the revision's content, and
// a handle made stale by hand is recovered from by listing. A rule added at
// the head of a run changes only elements. Fake kernel.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_YAML, startHarness, type Harness } from './support/harness.js';

describe('firewall deltas with echoed handles', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    const put = await h.app.inject({ method: 'PUT', url: '/v1/config', headers: { ...h.auth(), 'content-type': 'application/yaml' }, payload: DEMO_YAML });
    expect(put.statusCode, put.body).toBe(200);
  });
  afterEach(() => h.close());

  // position 0 of a-to-b: with the action of the rule after it, the rule joins that rule's run (its
  // elements only change: the run is named after its last rule); with another action it starts a run
  // of its own, whose rule is inserted before the next kept rule, by that rule's handle
  const addAtHead = async (id: string, port: number, action: 'accept' | 'drop') => {
    const response = await h.app.inject({
      method: 'POST', url: '/v1/firewall/policies/a-to-b/rules?position=0', headers: h.auth(),
      payload: { id, action, destination: ['10.2.0.11'], services: [`tcp/${port}`] },
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json() as { actions: { firewall: string[] } };
  };
  const chainListings = (from: number) => h.transcriptSince(from).filter((l) => l.startsWith('nft -j list chain inet junction ')).length;
  const reconcile = async () => (await h.app.inject({ method: 'POST', url: '/v1/reconcile', headers: h.auth() })).json() as { repaired: Record<string, string[]>; errors: Record<string, string> };

  it('after an echoed delta the next one does not list the chain, and the kernel matches each revision', async () => {
    let from = h.runner.commands.length;
    await addAtHead('first', 1001, 'drop'); // after a whole-table apply the handles are unknown: listed once
    expect(chainListings(from)).toBe(1);
    expect(await reconcile()).toMatchObject({ repaired: {}, errors: {} });
    for (const [id, port, action] of [['second', 1002, 'accept'], ['third', 1003, 'drop']] as const) {
      from = h.runner.commands.length;
      await addAtHead(id, port, action);
      expect(h.transcriptSince(from).filter((l) => /^nft -j -f .* -e$/.test(l))).toHaveLength(1);
      expect(chainListings(from), `${id}: the chain was listed`).toBe(0);
      expect(await reconcile()).toMatchObject({ repaired: {}, errors: {} });
    }
  });

  it('a rule replaced by hand (new handle) makes the delta fail once, and the retry lists and succeeds', async () => {
    await addAtHead('first', 1001, 'drop');
    const rules = h.kernel.nft.objects!.filter((o) => (o as { rule?: { chain: string } }).rule?.chain === 'pol_a-to-b') as Array<{ rule: { handle: number } }>;
    rules[0]!.rule.handle = 9999; // as if deleted and added again by hand
    await addAtHead('second', 1002, 'accept');
    expect(await reconcile()).toMatchObject({ repaired: {}, errors: {} });
  });

  it('a rule added at the head of a run, and deleted again, change that run\'s elements only: no rule, no chain listing', async () => {
    const from = h.runner.commands.length;
    const added = await addAtHead('joins', 1001, 'accept');
    expect(added.actions.firewall[0]).toMatch(/delta: \+0\/-0 rules, \+1\/-0 elements, 0 chains\/sets\/counters/);
    const deleted = await h.app.inject({ method: 'DELETE', url: '/v1/firewall/policies/a-to-b/rules/joins', headers: h.auth() });
    expect(deleted.statusCode, deleted.body).toBe(200);
    expect((deleted.json() as { actions: { firewall: string[] } }).actions.firewall[0]).toMatch(/delta: \+0\/-0 rules, \+0\/-1 elements, 0 chains\/sets\/counters/);
    expect(chainListings(from)).toBe(0);
    // no rule added, so no echo: nft's echo would read the whole table first
    expect(h.transcriptSince(from).filter((l) => /^nft -j -f .* -e$/.test(l))).toHaveLength(0);
    expect(await reconcile()).toMatchObject({ repaired: {}, errors: {} });
  });

  it('after element-only deltas (no echo) the handles are still known: a rule added next lists no chain', async () => {
    await addAtHead('first', 1001, 'drop'); // lists once after the whole-table apply, echoes the new rule
    await addAtHead('joins', 1002, 'drop'); // joins the run of "first": elements only
    const from = h.runner.commands.length;
    await addAtHead('own-run', 1003, 'accept'); // a run of its own: a rule inserted by handle
    expect(h.transcriptSince(from).filter((l) => /^nft -j -f .* -e$/.test(l))).toHaveLength(1);
    expect(chainListings(from)).toBe(0);
    expect(await reconcile()).toMatchObject({ repaired: {}, errors: {} });
  });
});
