// Puts a rendered bird.conf into effect: write the whole file aside,
// parse-check it with `bird -p`, and only then swap it in and `configure`
// over the socket, so bird never reads a file it would reject. An unchanged
// rendering is not applied unless bird is found running something else.
// `configure ... timeout N` gives a native commit-confirm.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { CommandRunner } from '../../platform/command-runner.js';
import { quoteBird, type BirdControl } from './bird-socket.js';
import { BirdReplyError, type BirdReply } from './reply-codes.js';

export class BirdConfigInvalid extends Error {
  constructor(
    readonly output: string,
    /** line in the rendered file, when bird names one */
    readonly line?: number,
  ) {
    super(`bird rejected the rendered config: ${output.trim().split('\n')[0]}`);
    this.name = 'BirdConfigInvalid';
  }
}

export interface BirdApplyOptions {
  runner: CommandRunner;
  bird: BirdControl;
  /** the file bird was started with (-c); it always holds what bird runs */
  configFile: string;
}

export interface ApplyOutcome {
  changed: boolean;
  /** BIRD's own words, e.g. "Reconfigured", "Undo scheduled in 30 s" */
  messages: string[];
  /** true while a `configure ... timeout` waits for confirm() */
  pendingConfirm: boolean;
}

export class BirdApplier {
  private previous: string | undefined;
  private confirmTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: BirdApplyOptions) {}

  /** The file bird runs from (undefined before the first apply). */
  async running(): Promise<string | undefined> {
    return readFile(this.options.configFile, 'utf8').catch(() => undefined);
  }

  /** `bird -p -c FILE`: parse only, no daemon needed. */
  async check(text: string): Promise<void> {
    const temp = `${this.options.configFile}.check-${process.pid}`;
    await writeFile(temp, text, { mode: 0o600 });
    try {
      const result = await this.options.runner.run('bird', ['-p', '-c', temp]);
      if (result.code !== 0) {
        const output = (result.stderr || result.stdout).replaceAll(temp, 'bird.conf');
        const line = /:(\d+):\d+/.exec(output)?.[1];
        throw new BirdConfigInvalid(output, line ? Number(line) : undefined);
      }
    } finally {
      await rm(temp, { force: true });
    }
  }

  /** Before bird first starts: check and write the file it will be started with. */
  async install(text: string): Promise<void> {
    await this.check(text);
    await this.restoreFile(text);
  }

  /**
   * Checks, swaps the file in and reconfigures. With confirmTimeoutS, BIRD
   * goes back to the old config by itself unless confirm() follows in time;
   * the file on disk is put back at the same moment so a later bird restart
   * does not load an unconfirmed config. `force`: configure even when the
   * file already holds `text` (bird was told to run something else).
   */
  async apply(text: string, options: { confirmTimeoutS?: number; force?: boolean } = {}): Promise<ApplyOutcome> {
    const current = await this.running();
    if (current === text && !options.force) return { changed: false, messages: [], pendingConfirm: false };
    await this.check(text);
    const file = this.options.configFile;
    const temp = `${file}.new-${process.pid}`;
    await writeFile(temp, text, { mode: 0o600 }); // holds BGP passwords
    await rename(temp, file);
    const timeout = options.confirmTimeoutS ? ` timeout ${options.confirmTimeoutS}` : '';
    let reply: BirdReply;
    try {
      reply = await this.options.bird.command(`configure ${quoteBird(file)}${timeout}`);
    } catch (e) {
      await this.restoreFile(current);
      if (e instanceof BirdReplyError) throw new BirdConfigInvalid(e.reply.lines.map((l) => l.text).join('\n'));
      throw e;
    }
    this.clearConfirmTimer();
    this.previous = current;
    if (options.confirmTimeoutS) {
      // BIRD undoes on its own; mirror that on disk a little later.
      this.confirmTimer = setTimeout(() => { void this.restoreFile(this.previous); }, options.confirmTimeoutS * 1000 + 500);
      this.confirmTimer.unref();
    }
    return { changed: true, messages: reply.lines.map((l) => l.text), pendingConfirm: !!options.confirmTimeoutS };
  }

  /** Keeps a config applied with a timeout. */
  async confirm(): Promise<string> {
    this.clearConfirmTimer();
    const reply = await this.options.bird.command('configure confirm');
    return reply.lines.map((l) => l.text).join('\n');
  }

  private clearConfirmTimer(): void {
    if (this.confirmTimer) clearTimeout(this.confirmTimer);
    this.confirmTimer = undefined;
  }

  private async restoreFile(text: string | undefined): Promise<void> {
    if (text === undefined) return;
    const temp = `${this.options.configFile}.restore-${process.pid}`;
    await writeFile(temp, text, { mode: 0o600 });
    await rename(temp, this.options.configFile);
  }
}
