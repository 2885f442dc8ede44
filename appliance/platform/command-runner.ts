// The one seam through which Junction runs programs (ip, nft, birdc, ...).
// Drivers take a CommandRunner so unit tests can hand them a recording fake
// and read what was done like a transcript; the real runner is used
// everywhere else.
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** written to the program's stdin */
  input?: string;
  timeoutMs?: number;
}

export interface CommandRunner {
  run(program: string, args: string[], options?: RunOptions): Promise<CommandResult>;
}

export class CommandError extends Error {
  constructor(
    readonly program: string,
    readonly args: string[],
    readonly result: CommandResult,
  ) {
    super(`${program} ${args.join(' ')} exited ${result.code}: ${(result.stderr || result.stdout).trim().slice(0, 2000)}`);
    this.name = 'CommandError';
  }
}

/**
 * Which binary runs for a program name. JUNCTION_BIN_<NAME> (e.g.
 * JUNCTION_BIN_NFT) overrides it; the lab tests use this to put a
 * fault-injecting wrapper in front of a real tool.
 */
export function resolveProgram(program: string): string {
  const override = process.env[`JUNCTION_BIN_${program.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`];
  return override || program;
}

export class SystemCommandRunner implements CommandRunner {
  run(program: string, args: string[], options: RunOptions = {}): Promise<CommandResult> {
    return new Promise((resolve) => {
      const child = spawn(resolveProgram(program), args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timer: NodeJS.Timeout | undefined;
      if (options.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => {
        if (timer) clearTimeout(timer);
        resolve({ code: 127, stdout: '', stderr: String(e.message) });
      });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        resolve({
          code: code ?? (signal ? 128 : 1),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8') + (signal ? `\nkilled by ${signal}` : ''),
        });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input ?? '');
    });
  }
}

/** Runs a command and throws CommandError unless it exits 0. */
export async function runChecked(runner: CommandRunner, program: string, args: string[], options?: RunOptions): Promise<string> {
  const result = await runner.run(program, args, options);
  if (result.code !== 0) throw new CommandError(program, args, result);
  return result.stdout;
}

/** A command's JSON output (`ip -j`, `nft -j`), or undefined when it failed or printed nothing. */
export async function readJson<T>(runner: CommandRunner, program: string, args: string[]): Promise<T | undefined> {
  const result = await runner.run(program, args);
  if (result.code !== 0 || !result.stdout.trim()) return undefined;
  return JSON.parse(result.stdout) as T;
}
