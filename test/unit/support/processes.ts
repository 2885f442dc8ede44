/** Whether a pid can still be signalled (a zombie still can): for tests that start real processes. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
