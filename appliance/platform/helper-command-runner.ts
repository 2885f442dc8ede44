// The CommandRunner `junction serve` uses: the SystemCommandRunner's commands,
// started by a small helper process (command-helper.ts). Starting a program
// forks the starting process; from serve holding a big rule base that costs
// several ms per command (7 ms at 100k rules, three commands per one-rule
// commit) and blocks the starting thread. The helper stays small, and API
// requests are never stalled by a fork. Results are exactly the
// SystemCommandRunner's. If the helper cannot start or dies, commands run
// in this process again (and any command it had in flight reports failure).
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SystemCommandRunner, type CommandResult, type CommandRunner, type RunOptions } from './command-runner.js';
import type { CommandRequest, HelperMessage } from './command-helper.js';

const HELPER_FILE = fileURLToPath(new URL('./command-helper.js', import.meta.url));

export class HelperCommandRunner implements CommandRunner {
  private readonly inline = new SystemCommandRunner();
  private helper: ChildProcess | undefined;
  private ready = false;
  /** requests made before the helper said it listens */
  private readonly queued: CommandRequest[] = [];
  private broken: boolean;
  private readonly pending = new Map<number, (result: CommandResult) => void>();
  private nextId = 0;

  /** `helperFile`: the helper's script (tests run it from source); without it commands run in this process. */
  constructor(private readonly helperFile = HELPER_FILE) {
    this.broken = !existsSync(helperFile); // run from source without a loader: no compiled helper beside this file
  }

  run(program: string, args: string[], options?: RunOptions): Promise<CommandResult> {
    const helper = this.started();
    if (!helper) return this.inline.run(program, args, options);
    return new Promise((resolve) => {
      const request: CommandRequest = { id: ++this.nextId, program, args, ...(options ? { options } : {}) };
      this.pending.set(request.id, resolve);
      this.hold(true); // a command in flight keeps the process alive, as a child process would
      if (this.ready) helper.send(request);
      else this.queued.push(request);
    });
  }

  /** The helper's pid while it runs (for diagnostics). */
  get pid(): number | undefined {
    return this.helper?.pid;
  }

  /** Ends the helper (commands after this run in this process). */
  async close(): Promise<void> {
    this.broken = true;
    const helper = this.helper;
    if (!helper || helper.exitCode !== null || helper.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => helper.once('exit', () => resolve()));
    helper.disconnect();
    await exited;
  }

  /** An idle helper does not keep Junction's process alive. */
  private hold(busy: boolean): void {
    const helper = this.helper;
    if (!helper) return;
    const channel = helper.channel as { ref(): void; unref(): void } | undefined | null;
    if (busy) {
      helper.ref();
      channel?.ref();
    } else {
      helper.unref();
      channel?.unref();
    }
  }

  private started(): ChildProcess | undefined {
    if (this.broken) return undefined;
    if (this.helper) return this.helper;
    let helper: ChildProcess;
    try {
      // its own small heap; its output goes where Junction's goes
      helper = fork(this.helperFile, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    } catch {
      this.broken = true;
      return undefined;
    }
    this.helper = helper;
    helper.on('message', (message: HelperMessage) => {
      if ('ready' in message) {
        this.ready = true;
        for (const request of this.queued.splice(0)) helper.send(request);
        return;
      }
      this.pending.get(message.id)?.(message.result);
      this.pending.delete(message.id);
      if (!this.pending.size) this.hold(false);
    });
    const fail = (why: string) => {
      if (this.helper !== helper) return;
      this.broken = true;
      this.helper = undefined;
      this.queued.length = 0;
      for (const resolve of this.pending.values()) resolve({ code: 1, stdout: '', stderr: `the command helper ${why}; the command's outcome is unknown` });
      this.pending.clear();
    };
    helper.on('error', (error) => fail(`failed: ${error.message}`));
    helper.on('exit', (code, signal) => fail(`exited ${code ?? signal}`));
    this.hold(false);
    return helper;
  }
}
