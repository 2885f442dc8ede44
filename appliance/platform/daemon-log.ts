// A supervised daemon's log file: its own output (its stdout and stderr
// are the file, so it keeps writing after Junction exits; a pipe to a
// Junction that is gone would kill it with SIGPIPE) and Junction's notes
// about it, and a cheap tail of that file for status and error messages.
import { appendFileSync, closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** tailLines() reads at most this much of the end of a log file */
const TAIL_BYTES = 64 * 1024;

export function appendNote(file: string, line: string): void {
  try {
    appendFileSync(file, `${new Date().toISOString()} junction: ${line}\n`, { mode: 0o600 });
  } catch {
    // the log is a convenience; supervision must go on without it
  }
}

/** The last lines of a file, reading only its end. */
export function tailLines(file: string, count: number): string[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.min(size, TAIL_BYTES));
    readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    const lines = buffer.toString('utf8').split('\n');
    if (buffer.length < size) lines.shift(); // cut in the middle
    return lines.filter(Boolean).slice(-count);
  } finally {
    closeSync(fd);
  }
}
