import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BirdApplier, BirdConfigInvalid } from '../../../appliance/subsystems/bgp/bird-config.js';
import { RecordingCommandRunner } from '../../support/recording-runner.js';
import { FakeBird } from '../../support/fake-bird.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function setup(answer?: (command: string) => string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'jnb-apply-'));
  dirs.push(dir);
  const configFile = path.join(dir, 'bird.conf');
  const runner = new RecordingCommandRunner();
  const bird = new FakeBird(answer);
  return { configFile, runner, bird, applier: new BirdApplier({ runner, bird, configFile }) };
}

describe('BirdApplier', () => {
  it('checks with bird -p, writes the file (mode 600) and configures; skips an unchanged rendering', async () => {
    const { configFile, runner, bird, applier } = setup();
    const first = await applier.apply('router id 1.1.1.1;\n');
    expect(first).toEqual({ changed: true, messages: ['Reading configuration', 'Reconfigured'], pendingConfirm: false });
    expect(runner.transcript()).toEqual([`bird -p -c ${configFile}.check-${process.pid}`]);
    expect(bird.sent).toEqual([`configure "${configFile}"`]);
    expect(readFileSync(configFile, 'utf8')).toBe('router id 1.1.1.1;\n');
    expect(statSync(configFile).mode & 0o777).toBe(0o600);

    expect((await applier.apply('router id 1.1.1.1;\n')).changed).toBe(false);
    expect(bird.sent).toHaveLength(1);
    expect(runner.commands).toHaveLength(1);
  });

  it('does not touch the running file or bird when the parse check fails', async () => {
    const { configFile, runner, bird, applier } = setup();
    await applier.install('router id 1.1.1.1;\n');
    runner.on((c) => c.args[0] === '-p', (c) => ({ code: 1, stderr: `bird: ${c.args[2]}:2:10 syntax error, unexpected CF_SYM_UNDEFINED\n` }));
    const error = await applier.apply('router id 1.1.1.1;\nprotocol foo {}\n').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BirdConfigInvalid);
    expect((error as BirdConfigInvalid).line).toBe(2);
    expect((error as BirdConfigInvalid).message).toBe('bird rejected the rendered config: bird: bird.conf:2:10 syntax error, unexpected CF_SYM_UNDEFINED');
    expect(readFileSync(configFile, 'utf8')).toBe('router id 1.1.1.1;\n');
    expect(bird.sent).toEqual([]);
  });

  it('puts the old file back when configure fails', async () => {
    const { configFile, applier } = setup(() => '0002-Reading configuration\n8002 bird.conf:1:1 something\n');
    await applier.install('old\n');
    await expect(applier.apply('new\n')).rejects.toBeInstanceOf(BirdConfigInvalid);
    expect(readFileSync(configFile, 'utf8')).toBe('old\n');
  });

  it('commit-confirm: configure with timeout, then confirm', async () => {
    const { configFile, bird, applier } = setup((c) =>
      c.startsWith('configure "') ? '0002-Reading configuration\n0022-Undo scheduled in 30 s\n0003 Reconfigured\n'
        : c === 'configure confirm' ? '0018 Reconfiguration confirmed\n' : '0021-Undo requested\n0003 Reconfigured\n');
    await applier.install('v1\n');
    const outcome = await applier.apply('v2\n', { confirmTimeoutS: 30 });
    expect(outcome.pendingConfirm).toBe(true);
    expect(outcome.messages).toContain('Undo scheduled in 30 s');
    expect(await applier.confirm()).toBe('Reconfiguration confirmed');
    expect(readFileSync(configFile, 'utf8')).toBe('v2\n');
    expect(bird.sent).toEqual([`configure "${configFile}" timeout 30`, 'configure confirm']);
  });
});
