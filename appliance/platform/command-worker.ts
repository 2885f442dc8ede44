// The thread behind ThreadedCommandRunner (threaded-command-runner.ts): runs
// each command it is sent with the SystemCommandRunner and posts the result
// back. Starting a program blocks the calling thread until the child has
// exec'd (several ms, tens on a loaded machine); here that blocks this
// thread, not the one serving the API.
import { parentPort } from 'node:worker_threads';
import { SystemCommandRunner, type RunOptions } from './command-runner.js';

export interface CommandRequest {
  id: number;
  program: string;
  args: string[];
  options?: RunOptions;
}

const runner = new SystemCommandRunner();
parentPort?.on('message', (request: CommandRequest) => {
  void runner.run(request.program, request.args, request.options).then((result) => parentPort!.postMessage({ id: request.id, result }));
});
