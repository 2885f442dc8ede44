// Unit-test fake of the CommandRunner seam: a transcript of what was run.
import type { CommandResult, CommandRunner, RunOptions } from '../../appliance/platform/command-runner.js';

export interface RecordedCommand {
  program: string;
  args: string[];
  input?: string;
}

/**
 * Unit-test fake: records every command and answers from a list of
 * handlers (first match wins); unmatched commands succeed with empty output.
 */
export class RecordingCommandRunner implements CommandRunner {
  readonly commands: RecordedCommand[] = [];
  private handlers: Array<{ match: (c: RecordedCommand) => boolean; reply: (c: RecordedCommand) => Partial<CommandResult> }> = [];

  on(match: (c: RecordedCommand) => boolean, reply: (c: RecordedCommand) => Partial<CommandResult>): this {
    this.handlers.push({ match, reply });
    return this;
  }

  async run(program: string, args: string[], options: RunOptions = {}): Promise<CommandResult> {
    const command: RecordedCommand = { program, args, ...(options.input !== undefined ? { input: options.input } : {}) };
    this.commands.push(command);
    const handler = this.handlers.find((h) => h.match(command));
    const reply = handler ? handler.reply(command) : {};
    return { code: reply.code ?? 0, stdout: reply.stdout ?? '', stderr: reply.stderr ?? '' };
  }

  /** The transcript as readable lines: "nft -j -f -". */
  transcript(): string[] {
    return this.commands.map((c) => [c.program, ...c.args].join(' '));
  }
}
