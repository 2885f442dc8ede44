// The process behind HelperCommandRunner (helper-command-runner.ts): runs
// each command it is sent with the SystemCommandRunner and sends the result
// back. Starting a program forks the starting process, and a fork costs in
// proportion to that process's memory: from `junction serve` holding 100k
// rules (600 MB), 7 ms per command, against under 2 ms from this small
// process; and it blocks the starting thread, which here serves no API.
import { SystemCommandRunner, type CommandResult, type RunOptions } from './command-runner.js';

export interface CommandRequest {
  id: number;
  program: string;
  args: string[];
  options?: RunOptions;
}

/** What the helper sends: first `ready`, then one result per request. */
export type HelperMessage = { ready: true } | { id: number; result: CommandResult };

const send = process.send?.bind(process);
if (send) {
  const runner = new SystemCommandRunner();
  process.on('message', (request: CommandRequest) => {
    void runner.run(request.program, request.args, request.options).then((result) => send({ id: request.id, result } satisfies HelperMessage));
  });
  // Junction went away (exit, crash, SIGKILL: the channel closes): so does its helper.
  process.on('disconnect', () => process.exit(0));
  send({ ready: true } satisfies HelperMessage);
}
