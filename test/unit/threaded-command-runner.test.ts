// The command thread (issue 14: no fork on the API's thread) gives exactly the
// SystemCommandRunner's results: exit codes, stdout, stderr, stdin, timeouts,
// a missing program, and commands in parallel. Real /bin/sh, no timing bounds.
import { afterAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { SystemCommandRunner } from '../../appliance/platform/command-runner.js';
import { ThreadedCommandRunner } from '../../appliance/platform/threaded-command-runner.js';

const workerSource = fileURLToPath(new URL('../support/command-worker-from-source.mjs', import.meta.url));
const threaded = new ThreadedCommandRunner(workerSource);
const inline = new SystemCommandRunner();

describe('ThreadedCommandRunner', () => {
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

  it('after close() commands still run, on the calling thread', async () => {
    const runner = new ThreadedCommandRunner(workerSource);
    await runner.close();
    expect(await runner.run('sh', ['-c', 'echo still'])).toMatchObject({ code: 0, stdout: 'still\n' });
  });
});
