// The command helper (issue 14: no fork of the big API process) gives exactly
// the SystemCommandRunner's results: exit codes, stdout, stderr, stdin,
// timeouts, a missing program, and commands in parallel; and it goes away
// with Junction. Real /bin/sh, no timing bounds.
import { afterAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { SystemCommandRunner } from '../../appliance/platform/command-runner.js';
import { HelperCommandRunner } from '../../appliance/platform/helper-command-runner.js';

const helperSource = fileURLToPath(new URL('../support/command-helper-from-source.mjs', import.meta.url));
const threaded = new HelperCommandRunner(helperSource);
const inline = new SystemCommandRunner();

describe('HelperCommandRunner', () => {
  afterAll(() => threaded.close());

  it('returns what the SystemCommandRunner returns', async () => {
    const cases: Array<[string, string[], { input?: string; timeoutMs?: number }?]> = [
      ['sh', ['-c', 'echo out; echo err >&2; exit 3']],
      ['sh', ['-c', 'cat; echo done'], { input: 'from stdin\n' }],
      ['sh', ['-c', 'sleep 5'], { timeoutMs: 200 }],
      ['no-such-program-junction', []],
    ];
    for (const [program, args, options] of cases) {
      expect(await threaded.run(program, args, options), `${program} ${args.join(' ')}`).toEqual(await inline.run(program, args, options));
    }
  });

  it('runs commands side by side and gives each its own result', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => threaded.run('sh', ['-c', `echo ${i}`])));
    expect(results.map((r) => r.stdout.trim())).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
  });

  it('runs commands in its own process, not in the test process', async () => {
    const result = await threaded.run('sh', ['-c', 'echo $PPID']);
    expect(Number(result.stdout.trim())).toBe(threaded.pid);
    expect(threaded.pid).not.toBe(process.pid);
  });

  it('is gone after close(), and commands still run, in the calling process', async () => {
    const runner = new HelperCommandRunner(helperSource);
    await runner.run('true', []);
    const pid = runner.pid!;
    await runner.close();
    expect(() => process.kill(pid, 0)).toThrow();
    expect(runner.pid).toBeUndefined();
    expect(await runner.run('sh', ['-c', 'echo still'])).toMatchObject({ code: 0, stdout: 'still\n' });
  });
});
