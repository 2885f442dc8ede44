// The firewall driver against the real nft 1.0.6 and kernel, in a throwaway
// network namespace: every golden case lists back as its own content (so
// drift is empty on a clean table), the delta from any case to any other
// leaves exactly the other's content, a change nft cannot make in place
// replaces the table with the counters' values carried over (named ones and
// set elements'), a run's set created anew keeps its rules' element
// counters, and a delta the kernel refuses changes nothing and names the
// document path.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRuleset } from '../../rules/index.js';
import { goldenCases } from '../rules/update-golden.js';
import { SystemCommandRunner, type CommandResult, type CommandRunner, type RunOptions } from '../../appliance/platform/command-runner.js';
import { ApplyFailed } from '../../appliance/core/subsystem.js';
import { FirewallSubsystem, type FirewallArtifact } from '../../appliance/subsystems/firewall/index.js';
import { tableContent } from '../../appliance/subsystems/firewall/content.js';
import { carryScript } from '../../appliance/subsystems/firewall/carry-over.js';

const isRoot = process.getuid?.() === 0;
const hasNft = spawnSync('nft', ['--version']).status === 0;
const cannotRun = !isRoot ? 'not running as root' : !hasNft ? 'nft is not installed' : '';
if (cannotRun) console.warn(`firewall-delta: CANNOT RUN (${cannotRun}); these tests are skipped, not passed`);

const NETNS = `jndelta${process.pid}`;

/** Runs every command inside the test's namespace. */
class NetnsRunner implements CommandRunner {
  private readonly system = new SystemCommandRunner();
  run(program: string, args: string[], options?: RunOptions): Promise<CommandResult> {
    return this.system.run('ip', ['netns', 'exec', NETNS, program, ...args], options);
  }
}

const artifact = (name: string): FirewallArtifact => {
  const c = goldenCases().find((g) => g.name === name)!;
  return { ruleset: compileRuleset(c.config, c.options), logging: false };
};
const nft = (...args: string[]) => execFileSync('ip', ['netns', 'exec', NETNS, 'nft', ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
function counterValue(name: string): { packets: number; bytes: number } {
  const listed = JSON.parse(nft('-j', 'list', 'counter', 'inet', 'junction', name)) as { nftables: Array<{ counter?: { packets: number; bytes: number } }> };
  const { packets, bytes } = listed.nftables.find((o) => o.counter)!.counter!;
  return { packets, bytes };
}

/** The counter values of a set's elements, as listed. */
function elementCounters(set: string): Array<{ packets: number; bytes: number }> {
  const listed = JSON.parse(nft('-j', 'list', 'set', 'inet', 'junction', set)) as { nftables: Array<{ set?: { elem?: Array<{ elem: { counter: { packets: number; bytes: number } } }> } }> };
  return (listed.nftables.find((o) => o.set)!.set!.elem ?? []).map((e) => e.elem.counter);
}

/** Gives the first element rule `owner` has in `artifact` counter values, as traffic would (nft's native syntax). */
function countOwnedElement(artifact: FirewallArtifact, owner: string, dir: string): string {
  const set = artifact.ruleset.ruleCounters.sets.find((s) => s.owners.includes(owner))!;
  const key = [...tableContent(artifact.ruleset.nftables).elements.get(set.name)!.values()][set.owners.indexOf(owner)];
  const file = join(dir, 'count.nft');
  writeFileSync(file, carryScript('inet', 'junction', [{ set: set.name, key, packets: 42, bytes: 4200 }]));
  nft('-f', file);
  return set.name;
}

describe.skipIf(!!cannotRun)(cannotRun ? `firewall delta CANNOT RUN: ${cannotRun}` : `firewall driver against nft in netns ${NETNS}`, () => {
  let dir = '';
  const driver = () => new FirewallSubsystem(new NetnsRunner(), dir);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jndelta-'));
    execFileSync('ip', ['netns', 'add', NETNS]);
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NETNS]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every golden case lists back as its own content: no drift on a clean table, and a second apply does nothing', async () => {
    for (const c of goldenCases()) {
      nft('flush', 'ruleset');
      const firewall = driver();
      const wanted = artifact(c.name);
      expect(await firewall.apply(wanted), c.name).toEqual([expect.stringMatching(/whole table \(no table yet\)/)]);
      expect(await firewall.drift(wanted), c.name).toEqual([]);
      expect(await firewall.apply(wanted), c.name).toEqual([]);
    }
  });

  it('from any golden case to any other, one delta leaves exactly the other\'s content', async () => {
    const names = goldenCases().map((c) => c.name);
    for (const from of names) {
      for (const to of names) {
        nft('flush', 'ruleset');
        const firewall = driver();
        await firewall.apply(artifact(from));
        const actions = await firewall.apply(artifact(to));
        if (from === to) expect(actions).toEqual([]);
        else expect(actions, `${from} -> ${to}`).toEqual([expect.stringMatching(/: delta: /)]);
        expect(await firewall.drift(artifact(to)), `${from} -> ${to}`).toEqual([]);
      }
    }
  });

  it('a change nft cannot make in place (a base chain\'s policy) replaces the table and carries the counters\' values over', async () => {
    nft('flush', 'ruleset');
    const firewall = driver();
    const before = artifact('ordered-mixed-actions');
    // The first load gives the policy's named default counter a value, as traffic would.
    const counted = structuredClone(before);
    for (const command of counted.ruleset.nftables as Array<{ add?: { counter?: { name: string; packets?: number; bytes?: number } } }>) {
      if (command.add?.counter?.name === 'default_a-to-b') Object.assign(command.add.counter, { packets: 42, bytes: 4200 });
    }
    await firewall.apply(counted);
    expect(counterValue('default_a-to-b')).toEqual({ packets: 42, bytes: 4200 });
    const set = countOwnedElement(counted, 'web-any', dir);
    const after = structuredClone(before);
    for (const command of after.ruleset.nftables as Array<{ add?: { chain?: { name: string; policy?: string } } }>) {
      if (command.add?.chain?.name === 'output') command.add.chain.policy = 'drop';
    }
    const actions = await firewall.apply(after);
    expect(actions).toEqual([expect.stringMatching(/whole table \(chain output changes its hook or policy\)/), expect.stringMatching(/: 1 element counters carried over$/)]);
    expect(counterValue('default_a-to-b')).toEqual({ packets: 42, bytes: 4200 });
    expect(elementCounters(set)).toContainEqual({ packets: 42, bytes: 4200 });
    expect(await firewall.drift(after)).toEqual([]);
  });

  it('a run whose set is created anew (its last rule deleted: a new name) keeps its other rules\' element counters', async () => {
    nft('flush', 'ruleset');
    const firewall = driver();
    const c = goldenCases().find((g) => g.name === 'ordered-mixed-actions')!;
    const before = artifact('ordered-mixed-actions');
    await firewall.apply(before);
    const old = countOwnedElement(before, 'web-any', dir);
    const config = structuredClone(c.config);
    config.firewall!.policies[0].rules = config.firewall!.policies[0].rules.filter((r) => r.id !== 'ssh');
    const after: FirewallArtifact = { ruleset: compileRuleset(config, c.options), logging: false };
    const renamed = after.ruleset.ruleCounters.sets.find((s) => s.owners.includes('web-any'))!.name;
    expect(renamed).not.toBe(old);
    const actions = await firewall.apply(after);
    expect(actions).toEqual([expect.stringMatching(/: delta: /), expect.stringMatching(/: 1 element counters carried over$/)]);
    expect(elementCounters(renamed)).toContainEqual({ packets: 42, bytes: 4200 });
    expect(await firewall.drift(after)).toEqual([]);
  });

  it('a delta nft refuses changes nothing, and its error index names the document path of the refused command', async () => {
    nft('flush', 'ruleset');
    const firewall = driver();
    const good = artifact('ordered-mixed-actions');
    await firewall.apply(good);
    const listed = nft('-j', 'list', 'table', 'inet', 'junction');
    // Two new rules; nft cannot parse the second ("Parsing command array at index N failed").
    const bad = structuredClone(good);
    bad.ruleset.nftables.push(
      { add: { rule: { family: 'inet', table: 'junction', chain: 'forward', comment: 'fine', expr: [{ accept: null }] } } },
      { add: { rule: { family: 'inet', table: 'junction', chain: 'forward', comment: 'refused', expr: [{ bogus: null }] } } },
    );
    bad.ruleset.origins.push('/firewall/policies/0/rules/0', '/firewall/policies/0/rules/1');
    const failure = await firewall.apply(bad).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(ApplyFailed);
    expect((failure as ApplyFailed).message).toMatch(/nft apply failed/);
    expect((failure as ApplyFailed).path).toBe('/firewall/policies/0/rules/1');
    expect(nft('-j', 'list', 'table', 'inet', 'junction')).toBe(listed);
    expect(await firewall.drift(good)).toEqual([]);
  });
});
