import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reapStaleProcess, recordPid } from '../../appliance/platform/stale-process.js';
import { alive } from './support/processes.js';

const started: number[] = [];
const sleeper = (marker: string) => {
  const child = spawn('sh', ['-c', 'sleep 30', marker], { stdio: 'ignore' });
  started.push(child.pid!);
  return child;
};

afterEach(() => {
  for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

describe('reapStaleProcess', () => {
  it('ends a leftover process that carries our marker, and only that one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-stale-'));
    try {
      const ours = sleeper(join(dir, 'ours.conf'));
      const theirs = sleeper('/elsewhere/theirs.conf');
      const exited = new Promise((r) => ours.once('exit', r));
      recordPid(join(dir, 'ours.pid'), ours.pid!);
      recordPid(join(dir, 'theirs.pid'), theirs.pid!);
      expect(reapStaleProcess(join(dir, 'ours.pid'), join(dir, 'ours.conf'))).toBe(ours.pid);
      await exited;
      expect(alive(ours.pid!)).toBe(false);
      // a pid file naming someone else's process (a reused pid) is dropped, the process spared
      expect(reapStaleProcess(join(dir, 'theirs.pid'), join(dir, 'ours.conf'))).toBeUndefined();
      expect(alive(theirs.pid!)).toBe(true);
      expect(existsSync(join(dir, 'theirs.pid'))).toBe(false);
      expect(reapStaleProcess(join(dir, 'missing.pid'), 'x')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
