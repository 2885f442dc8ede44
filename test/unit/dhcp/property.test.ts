// Property tests of the dhcp section through the pipeline's pure half
// (validate -> verify -> render, as prepare() runs them): generated
// sections never crash it, nor render on its own (the firewall's needs are
// rendered from documents verify has not accepted yet); what verify accepts renders deterministically,
// with every range and reservation inside its interface's subnet and no
// reservation inside a range; what the firewall opens is exactly what
// dnsmasq serves. `dnsmasq --test` on accepted renderings runs in the lab
// test (test/lab/dhcp-server.test.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Reconciler } from '../../../appliance/core/reconciler.js';
import { Store } from '../../../appliance/core/store.js';
import { ConfigRejected } from '../../../appliance/model/problems.js';
import type { Config } from '../../../appliance/model/schema.js';
import { NO_CAPABILITIES } from '../../../appliance/platform/capabilities.js';
import { DhcpSubsystem } from '../../../appliance/subsystems/dhcp/index.js';
import { renderDhcp, type DhcpArtifact } from '../../../appliance/subsystems/dhcp/render.js';
import { dhcpSelfServices } from '../../../appliance/subsystems/dhcp/self-services.js';
import { parseAddress, parsePrefix } from '../../../appliance/model/ip.js';
import { RecordingCommandRunner } from '../../support/recording-runner.js';
import { memoryLogger } from '../../support/memory-logger.js';
import { fuzzParameters } from '../../support/config-arbitraries.js';
import { dhcpDocument } from '../../support/dhcp-arbitraries.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNS = fuzzParameters(300);

const value = (address: string) => parseAddress(address)!.value;

describe('dhcp section, generated', () => {
  it('prepare() accepts or rejects with paths, never crashes; accepted renderings are sound', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'junction-dhcp-prop-'));
    const store = new Store(stateDir);
    const log = memoryLogger();
    const reconciler = new Reconciler(store, [new DhcpSubsystem({ runner: new RecordingCommandRunner(), stateDir, log })], NO_CAPABILITIES, log);
    let accepted = 0;
    try {
      fc.assert(fc.property(dhcpDocument, (doc) => {
        // the firewall asks for its needs before verify has spoken: render must take any document
        dhcpSelfServices(renderDhcp(structuredClone(doc) as unknown as Config));
        let artifact: DhcpArtifact;
        try {
          artifact = reconciler.prepare(structuredClone(doc)).artifacts.get('dhcp') as DhcpArtifact;
        } catch (error) {
          if (!(error instanceof ConfigRejected)) throw error;
          for (const problem of error.problems) expect(problem.path).toMatch(/^\/dhcp(\/|$)/);
          return;
        }
        accepted++;
        expect(renderDhcp(structuredClone(doc) as unknown as Config)).toEqual(artifact);
        const lines = artifact.text.split('\n');
        const subnets = artifact.subnets.map((s) => ({ ...s, prefix: parsePrefix(s.network)! }));
        const inside = (iface: string, a: string) => subnets.some((s) => s.interface === iface && s.prefix.first <= value(a) && value(a) <= s.prefix.last);
        let iface = '';
        const ranges: Array<[bigint, bigint]> = [];
        for (const line of lines) {
          if (line.startsWith('interface=')) iface = line.slice('interface='.length);
          const range = /^dhcp-range=([0-9.]+),([0-9.]+),/.exec(line);
          if (range) {
            expect(inside(iface, range[1]!) && inside(iface, range[2]!), line).toBe(true);
            ranges.push([value(range[1]!), value(range[2]!)]);
          }
        }
        for (const line of lines.filter((l) => l.startsWith('dhcp-host='))) {
          const address = line.split(',')[1]!;
          expect(ranges.some(([first, last]) => first <= value(address) && value(address) <= last), line).toBe(false);
        }
        const opened = dhcpSelfServices(artifact);
        expect(opened.find((s) => s.ports?.includes(67))?.interfaces ?? []).toEqual(artifact.dhcpInterfaces);
        expect(artifact.dnsInterfaces.length > 0).toBe(lines.includes('port=53'));
      }), RUNS);
    } finally {
      reconciler.close();
      store.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
    console.log(`[property] dhcp: ${accepted} of ${RUNS.numRuns} generated sections accepted`);
    // the generator must reach the sound documents, or the checks above test nothing
    expect(accepted).toBeGreaterThan(RUNS.numRuns / 20);
  }, 60_000);
});
