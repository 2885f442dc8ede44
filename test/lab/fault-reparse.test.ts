// Every rendered artifact of a generated document re-parses in the real
// tool: the nftables batch with `nft -c -j -f` (inside a throwaway network
// namespace this test creates and deletes, so the check never touches the
// root namespace's ruleset) and the BIRD config with `bird -p -c`. The VICI
// messages' round trip through the codec is in test/unit/property-pipeline.
// FUZZ_SEED / FUZZ_RUNS set the seed and count for longer runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemCommandRunner } from '../../appliance/platform/command-runner.js';
import { ConfigRejected } from '../../appliance/model/problems.js';
import type { FirewallArtifact } from '../../appliance/subsystems/firewall/index.js';
import type { BgpArtifact } from '../../appliance/subsystems/bgp/render.js';
import { fuzzParameters, validishConfig } from '../support/config-arbitraries.js';
import { startHarness, type Harness } from '../api/support/harness.js';
import { requireRoot, uniquePrefix } from './support/lab-fixture.js';

const root = requireRoot();
const hasNft = spawnSync('nft', ['--version']).status === 0;
const hasBird = spawnSync('bird', ['--version']).status === 0;
const skipReason = !root.isRoot ? root.reason : !hasNft ? 'nft (nftables) is not installed' : !hasBird ? 'bird (bird2) is not installed' : '';
if (skipReason) console.log(`[fault-reparse] skipped: ${skipReason}`);

const RUNS = fuzzParameters(150);
const TIMEOUT = Math.max(120_000, RUNS.numRuns * 300);
const runner = new SystemCommandRunner();

describe.skipIf(!!skipReason)('rendered artifacts re-parse in nft and bird', () => {
  const ns = `${uniquePrefix('rp')}-check`;
  let dir: string;
  let h: Harness;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'junction-reparse-'));
    h = await startHarness();
    const added = await runner.run('ip', ['netns', 'add', ns]);
    expect(added.code, added.stderr).toBe(0);
  });

  afterAll(async () => {
    await runner.run('ip', ['netns', 'del', ns]);
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('nft -c -j -f accepts every batch, bird -p accepts every bird.conf', async () => {
    let checked = 0;
    let withBgp = 0;
    await fc.assert(fc.asyncProperty(validishConfig(), async (doc) => {
      let artifacts: Map<string, unknown>;
      try {
        artifacts = h.appliance.reconciler.prepare(doc).artifacts;
      } catch (error) {
        if (error instanceof ConfigRejected) return;
        throw error;
      }
      checked++;
      const firewall = artifacts.get('firewall') as FirewallArtifact;
      const batch = join(dir, 'ruleset.json');
      writeFileSync(batch, JSON.stringify({ nftables: firewall.ruleset.nftables }));
      const nft = await runner.run('ip', ['netns', 'exec', ns, 'nft', '-c', '-j', '-f', batch], { timeoutMs: 30_000 });
      expect(nft.code, `nft -c rejected the batch of ${JSON.stringify(doc)}:\n${nft.stderr}`).toBe(0);
      const bgp = artifacts.get('bgp') as BgpArtifact;
      if (bgp.active) {
        withBgp++;
        const conf = join(dir, 'bird.conf');
        writeFileSync(conf, bgp.text);
        const bird = await runner.run('bird', ['-p', '-c', conf], { timeoutMs: 30_000 });
        expect(bird.code, `bird -p rejected:\n${bgp.text}\n${bird.stderr}`).toBe(0);
      }
    }), RUNS);
    console.log(`[fault-reparse] ${checked} accepted documents checked with nft -c (${withBgp} with bird -p)`);
    expect(checked).toBeGreaterThan(0);
    expect(withBgp).toBeGreaterThan(0);
  }, TIMEOUT);
});
