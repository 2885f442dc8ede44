// notifySystemd against a real Unix datagram socket standing in for
// systemd's NOTIFY_SOCKET (a python3 receiver, since Node has no datagram
// Unix sockets): READY=1 at once, WATCHDOG=1 only while healthy, STOPPING=1
// at the end, and nothing at all without NOTIFY_SOCKET.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { notifySystemd } from '../../appliance/main/systemd-notify.js';
import { sleep } from '../../appliance/platform/sleep.js';

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
while True:
    print(s.recv(4096).decode().replace("\\n", " "), flush=True)
`;

const usable = spawnSync('sh', ['-c', 'command -v systemd-notify && command -v python3']).status === 0;
const saved = { NOTIFY_SOCKET: process.env.NOTIFY_SOCKET, WATCHDOG_USEC: process.env.WATCHDOG_USEC };
let cleanup: () => void = () => undefined;

afterEach(() => {
  cleanup();
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

async function receiver(): Promise<{ path: string; messages: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'junction-notify-'));
  const path = join(dir, 'notify');
  const child = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanup = () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const messages: string[] = [];
  let bound = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n').filter(Boolean)) {
      if (line === 'bound') bound = true;
      else messages.push(line);
    }
  });
  for (let i = 0; i < 100 && !bound; i++) await sleep(20);
  expect(bound).toBe(true);
  return { path, messages };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 150 && !check(); i++) await sleep(20);
}

describe.skipIf(!usable)('notifySystemd', () => {
  it('says READY=1, WATCHDOG=1 while healthy (never when not), then STOPPING=1', async () => {
    const { path, messages } = await receiver();
    process.env.NOTIFY_SOCKET = path;
    process.env.WATCHDOG_USEC = '1000000'; // 1 s: a ping every 500 ms
    let healthy = false;
    const stop = notifySystemd(async () => healthy);
    await until(() => messages.some((m) => m.includes('READY=1')));
    expect(messages.join(' | ')).toContain('READY=1');
    await sleep(1200);
    expect(messages.some((m) => m.includes('WATCHDOG=1')), 'a watchdog ping while unhealthy').toBe(false);
    healthy = true;
    await until(() => messages.some((m) => m.includes('WATCHDOG=1')));
    expect(messages.some((m) => m.includes('WATCHDOG=1'))).toBe(true);
    await stop();
    await until(() => messages.some((m) => m.includes('STOPPING=1')));
    expect(messages.some((m) => m.includes('STOPPING=1'))).toBe(true);
  });

  it('does nothing without NOTIFY_SOCKET', async () => {
    delete process.env.NOTIFY_SOCKET;
    process.env.WATCHDOG_USEC = '100000'; // would ping every 50 ms under systemd
    let asked = 0;
    const stop = notifySystemd(async () => (asked++, true));
    await sleep(300);
    await stop();
    expect(asked).toBe(0);
  });
});
if (!usable) console.log('[systemd-notify] skipped: systemd-notify or python3 is missing');
