// One task at a time, in the order they were asked for: the commit pipeline
// and each daemon's apply, restart re-apply and shutdown must never
// interleave. A failed task does not stop the ones queued after it; its
// caller gets the failure.
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every task queued before it has settled. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
