// The CommandRunner `junction serve` uses: the SystemCommandRunner's commands
// started from a worker thread (command-worker.ts), so that starting a
// program (fork + exec, which blocks the starting thread until the child has
// exec'd) never stalls API requests: GET /v1/status is read under load while
// the status cache refreshes and commits run. Results are exactly the
// SystemCommandRunner's. If the thread cannot start or dies, commands run on
// the main thread again (and any command it had in flight reports failure).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SystemCommandRunner, type CommandResult, type CommandRunner, type RunOptions } from './command-runner.js';
import type { CommandRequest } from './command-worker.js';

const WORKER_FILE = fileURLToPath(new URL('./command-worker.js', import.meta.url));

export class ThreadedCommandRunner implements CommandRunner {
  private readonly inline = new SystemCommandRunner();
  private worker: Worker | undefined;
  private broken: boolean;
  private readonly pending = new Map<number, (result: CommandResult) => void>();
  private nextId = 0;

  /** `workerFile`/`execArgv`: the thread's script and node flags (tests run it from source). */
  constructor(private readonly workerFile = WORKER_FILE, private readonly execArgv?: string[]) {
    this.broken = !existsSync(workerFile); // run from source without a loader: no compiled worker beside this file
  }

  run(program: string, args: string[], options?: RunOptions): Promise<CommandResult> {
    const worker = this.started();
    if (!worker) return this.inline.run(program, args, options);
    return new Promise((resolve) => {
      const id = ++this.nextId;
      this.pending.set(id, resolve);
      worker.ref(); // a command in flight keeps the process alive, as a child process would
      worker.postMessage({ id, program, args, options } satisfies CommandRequest);
    });
  }

  /** Ends the thread (commands after this run on the main thread). */
  async close(): Promise<void> {
    this.broken = true;
    await this.worker?.terminate();
  }

  private started(): Worker | undefined {
    if (this.broken) return undefined;
    if (this.worker) return this.worker;
    const worker = new Worker(this.workerFile, this.execArgv ? { execArgv: this.execArgv } : {});
    worker.unref();
    worker.on('message', ({ id, result }: { id: number; result: CommandResult }) => {
      this.pending.get(id)?.(result);
      this.pending.delete(id);
      if (!this.pending.size) worker.unref();
    });
    const fail = (why: string) => {
      this.broken = true;
      this.worker = undefined;
      for (const resolve of this.pending.values()) resolve({ code: 1, stdout: '', stderr: `the command thread ${why}; the command's outcome is unknown` });
      this.pending.clear();
    };
    worker.on('error', (error) => fail(`failed: ${error.message}`));
    worker.on('exit', (code) => fail(`exited ${code}`));
    this.worker = worker;
    return worker;
  }
}
