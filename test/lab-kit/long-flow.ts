// A long-lived TCP flow between two lab namespaces that measures its own
// continuity: the client writes a small message every INTERVAL_MS, the
// server echoes it, and the client records the longest gap between echoes
// and whether the connection broke. Used to prove that established flows
// survive a restart of Junction (design/performance.md, `recovery`).
import type { Lab } from './lab.js';
import type { LabRole } from './topology.js';
import { sleep } from '../../appliance/platform/sleep.js';

const INTERVAL_MS = 20;

const SERVER = `
const net = require('net');
const server = net.createServer((c) => { c.on('data', (d) => c.write(d)); c.on('error', () => {}); });
server.listen(Number(process.argv[1]), '0.0.0.0', () => console.log(JSON.stringify({ listening: true })));
`;

const CLIENT = `
const net = require('net');
const [host, port, intervalMs] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const r = { connected: false, echoes: 0, maxGapMs: 0, broken: null };
let last = 0;
const socket = net.connect({ host, port }, () => { r.connected = true; last = Date.now(); console.log(JSON.stringify({ connected: true })); });
const timer = setInterval(() => r.connected && socket.write('ping....'), intervalMs);
socket.on('data', (d) => { const now = Date.now(); r.maxGapMs = Math.max(r.maxGapMs, now - last); last = now; r.echoes += d.length / 8; });
socket.on('error', (e) => { r.broken = r.broken || e.message; });
socket.on('close', () => { r.broken = r.broken || 'closed'; });
const finish = () => { clearInterval(timer); r.maxGapMs = Math.max(r.maxGapMs, r.connected && !r.broken ? Date.now() - last : r.maxGapMs); console.log(JSON.stringify({ result: r })); process.exit(0); };
process.on('SIGTERM', finish);
`;

export interface FlowResult {
  connected: boolean;
  echoes: number;
  /** longest time without an echo, ms (TCP retransmission rounds it up) */
  maxGapMs: number;
  /** why the connection ended early, or null */
  broken: string | null;
}

export interface LongFlow {
  /** the longest gap so far is only known at the end: stop() reports it */
  stop(): Promise<FlowResult>;
}

function waitForLine(proc: ReturnType<Lab['spawn']>, key: string, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${key}" from ${proc.argv.join(' ').slice(0, 60)}: ${proc.stderr()}`)), timeoutMs);
    proc.onLine((line) => {
      try {
        const message = JSON.parse(line) as Record<string, unknown>;
        if (key in message) {
          clearTimeout(timer);
          resolve(message);
        }
      } catch {
        /* not ours */
      }
    });
  });
}

/** Starts the echo server in `to`, then the client in `from`; bounded by lifetimeS. */
export async function startLongFlow(lab: Lab, from: LabRole, to: LabRole, address: string, port: number, lifetimeS = 600): Promise<LongFlow> {
  const server = lab.spawn(to, ['timeout', String(lifetimeS + 10), process.execPath, '-e', SERVER, String(port)]);
  try {
    await waitForLine(server, 'listening', 10_000);
    const client = lab.spawn(from, ['timeout', '-s', 'KILL', String(lifetimeS), process.execPath, '-e', CLIENT, address, String(port), String(INTERVAL_MS)]);
    const result = waitForLine(client, 'result', (lifetimeS + 5) * 1000);
    result.catch(() => undefined);
    await waitForLine(client, 'connected', 10_000).catch((error) => {
      client.kill('SIGKILL');
      throw error;
    });
    await sleep(200);
    return {
      stop: async () => {
        client.kill('SIGTERM');
        try {
          return (await result).result as FlowResult;
        } finally {
          client.kill('SIGKILL');
          server.kill('SIGKILL');
        }
      },
    };
  } catch (error) {
    server.kill('SIGKILL');
    throw error;
  }
}
