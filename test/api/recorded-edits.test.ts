// A rule (or any list item) added, replaced or deleted through the API is a
// recorded splice of the committed list's copy (model/list-ends.ts): validate,
// restoreSecrets, freezeDocument, the id check and the compiler take the
// changed run from the record instead of scanning the list. A wrong record
// would let a broken rule through, keep a stale compiled rule or a literal
// secret mask, so here a long random run of edits is checked after each one
// against a render of the committed document from scratch (a JSON copy, in an
// appliance of its own) and against the fake kernel; and a masked secret in a
// replaced item must still be found. Fake kernel.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAppliance } from '../../appliance/main/appliance.js';
import { NO_CAPABILITIES } from '../../appliance/platform/capabilities.js';
import type { FirewallArtifact } from '../../appliance/subsystems/firewall/index.js';
import { RecordingCommandRunner } from '../support/recording-runner.js';
import { memoryLogger } from '../support/memory-logger.js';
import { smallConfig, startHarness, type Harness } from './support/harness.js';
import { selfSigned } from '../support/self-signed.js';
import { seededRandom } from '../support/seeded-random.js';

const RULES = '/v1/firewall/policies/a-to-b/rules';

describe('recorded list edits render as the whole document does', () => {
  let h: Harness;
  let reference: ReturnType<typeof createAppliance>;
  let referenceDir: string;
  beforeEach(async () => {
    h = await startHarness();
    referenceDir = mkdtempSync(join(tmpdir(), 'junction-reference-'));
    reference = createAppliance({ stateDir: referenceDir, runner: new RecordingCommandRunner(), capabilities: NO_CAPABILITIES, log: memoryLogger() });
  });
  afterEach(async () => {
    await h.close();
    reference.close();
    rmSync(referenceDir, { recursive: true, force: true });
  });

  const send = (method: string, url: string, body?: unknown) =>
    h.app.inject({ method: method as 'GET', url, headers: h.auth(), ...(body === undefined ? {} : { payload: body as object }) });
  const committed = () => h.appliance.store.currentRevision()!.document;
  const nftOf = (artifact: unknown) => JSON.stringify((artifact as FirewallArtifact).ruleset.nftables);
  const running = () => (h.appliance.reconciler as unknown as { running: { artifacts: Map<string, unknown> } }).running.artifacts.get('firewall');
  const fromScratch = () => reference.reconciler.prepare(JSON.parse(JSON.stringify(committed()))).artifacts.get('firewall');

  it('100 random adds, replaces and deletes (some refused) leave the rendering, the kernel and the document as a full render has them', async () => {
    const doc = smallConfig();
    doc.objects = { addresses: [{ name: 'hosts', entries: ['10.2.0.20', '10.2.0.21'] }] };
    doc.firewall.policies[0].rules = Array.from({ length: 30 }, (_, i) => ({ id: `r${i}`, action: i % 4 < 2 ? 'accept' : 'drop', destination: [`10.2.0.${i + 10}`], services: [`tcp/${1000 + i}`] }));
    expect((await send('PUT', '/v1/config', doc)).statusCode).toBe(200);
    const { next, pick } = seededRandom(14);
    const expected: string[] = doc.firewall.policies[0].rules.map((r: { id: string }) => r.id);
    let refused = 0;
    for (let step = 0; step < 100; step++) {
      const revision = h.appliance.store.currentRevisionId();
      const port = 2000 + step;
      const rule = (id: string) => ({ id, action: pick(['accept', 'drop'] as const), destination: [pick(['10.2.0.50', 'hosts', '10.2.0.0/28'])], services: [`tcp/${port}`] });
      const op = pick(['add', 'add', 'replace', 'delete', 'refused'] as const);
      let answer;
      if (op === 'add' || op === 'refused') {
        const at = Math.floor(next() * (expected.length + 1));
        // refused: a reference to an address object that does not exist, which only verify (after the edit) can find
        const body = op === 'refused' ? { ...rule(`bad${step}`), destination: ['no-such-object'] } : rule(`n${step}`);
        answer = await send('POST', `${RULES}?position=${at}`, body);
        if (op === 'add') expected.splice(at, 0, body.id);
      } else if (op === 'replace') {
        const id = pick(expected);
        answer = await send('PUT', `${RULES}/${id}`, rule(id));
      } else {
        const id = pick(expected);
        answer = await send('DELETE', `${RULES}/${id}`);
        expected.splice(expected.indexOf(id), 1);
      }
      const where = `step ${step} (${op})`;
      if (op === 'refused') {
        refused++;
        expect(answer.statusCode, `${where}: ${answer.body}`).toBe(422);
        expect(answer.body, where).toContain('no-such-object');
        expect(h.appliance.store.currentRevisionId(), where).toBe(revision);
      } else {
        expect(answer.statusCode, `${where}: ${answer.body}`).toBeLessThan(300);
      }
      const rules = committed().firewall!.policies[0]!.rules;
      expect(rules.map((r) => r.id), where).toEqual(expected);
      // frozen all the way down: the next edit may share every one of them
      expect(rules.every((r) => Object.isFrozen(r) && Object.isFrozen(r.services)), where).toBe(true);
      expect(nftOf(running()), where).toBe(nftOf(fromScratch()));
      const repaired = (await send('POST', '/v1/reconcile')).json() as { repaired: Record<string, string[]>; errors: Record<string, string> };
      expect(repaired, `${where}: the kernel differs from the revision`).toMatchObject({ repaired: {}, errors: {} });
    }
    expect(refused).toBeGreaterThan(5);
    expect(expected.length).toBeGreaterThan(10);
  });

  it('a masked secret in a replaced list item keeps the stored one: the record does not hide the new item from restoreSecrets', async () => {
    // certificates are a list of flat records, so an edit splices its shared copy (peers hold tunnels: copied whole)
    const own = selfSigned('/CN=junction-gw');
    const other = selfSigned('/CN=second');
    const doc = smallConfig();
    doc.zones.push({ name: 'vpn' });
    doc.vpn = { peers: [], certificates: [{ name: 'other', certificate: other.cert, private_key: other.key }, { name: 'own', certificate: own.cert, private_key: own.key }] };
    const put = await send('PUT', '/v1/config', doc);
    expect(put.statusCode, put.body).toBe(200);
    const masked = { name: 'own', certificate: own.cert, private_key: '********' };
    const kept = await send('PUT', '/v1/vpn/certificates/own', masked);
    expect(kept.statusCode, kept.body).toBe(200);
    expect(kept.json().plan.counts.configChanges).toBe(0);
    expect(committed().vpn!.certificates![1]!.private_key).toBe(own.key);
    // the same at the head of the list, and with a real change beside the mask
    const first = await send('PUT', '/v1/vpn/certificates/other', { name: 'other', certificate: own.cert, private_key: '********' });
    expect(first.statusCode).toBe(422); // the stored key (other's) does not belong to the new certificate: it was restored, not taken as text
    expect(first.body).toContain('/vpn/certificates/0/private_key');
    expect(committed().vpn!.certificates![0]!.private_key).toBe(other.key);
  });
});
