// Bounded traffic helpers for lab tests and benchmarks. Everything runs inside
// a lab namespace through Lab.exec/Lab.spawn (which refuse when the namespace
// is missing), and everything has a count and a time limit.
import { parseAddress } from '../../appliance/model/ip.js';
import type { Lab, LabProcess } from './lab.js';
import type { LabRole } from './topology.js';
import { sleep } from '../../appliance/platform/sleep.js';

function checkAddress(addr: string): string {
  if (!parseAddress(addr)) throw new Error(`not an IP address: ${addr}`);
  return addr;
}

function checkPort(port: number): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`not a port: ${port}`);
  return String(port);
}


export interface PingOptions {
  /** echo requests to send (default 3, at most 1000) */
  count?: number;
  /** overall deadline in seconds (default 5) */
  timeoutS?: number;
  /** seconds between requests (default 0.2) */
  intervalS?: number;
  /** ICMP payload size (`-s`) */
  size?: number;
  /** set don't-fragment (`-M do`) */
  dontFragment?: boolean;
}

export interface PingResult {
  /** at least one reply came back */
  reachable: boolean;
  transmitted: number;
  received: number;
  lossPercent: number;
  output: string;
}

/** `ping` from a lab namespace. Never throws for an unreachable target. */
export async function ping(lab: Lab, from: LabRole, addr: string, options: PingOptions = {}): Promise<PingResult> {
  const count = Math.min(Math.max(options.count ?? 3, 1), 1000);
  const timeoutS = Math.max(options.timeoutS ?? 5, 1);
  const argv = ['ping', '-n', '-q', '-c', String(count), '-i', String(options.intervalS ?? 0.2), '-W', '1', '-w', String(timeoutS)];
  if (options.size !== undefined) argv.push('-s', String(options.size));
  if (options.dontFragment) argv.push('-M', 'do');
  argv.push(checkAddress(addr));
  const result = await lab.exec(from, argv, { timeoutMs: (timeoutS + 5) * 1000 });
  const output = result.stdout + result.stderr;
  const match = /(\d+) packets transmitted, (\d+) received/.exec(output);
  const transmitted = match ? Number(match[1]) : 0;
  const received = match ? Number(match[2]) : 0;
  return {
    reachable: received > 0,
    transmitted,
    received,
    lossPercent: transmitted > 0 ? Math.round(((transmitted - received) / transmitted) * 100) : 100,
    output,
  };
}

/** Whether a TCP connection from a lab namespace to addr:port is accepted in time. */
export async function tcpConnect(lab: Lab, from: LabRole, addr: string, port: number, timeoutMs = 3000): Promise<boolean> {
  const seconds = (Math.max(timeoutMs, 100) / 1000).toFixed(1);
  const result = await lab.exec(
    from,
    ['timeout', seconds, 'bash', '-c', 'exec 3<>"/dev/tcp/$1/$2"', 'tcp-connect', checkAddress(addr), checkPort(port)],
    { timeoutMs: timeoutMs + 5000 },
  );
  return result.code === 0;
}

export interface ObservedPeer {
  /** the source address the server saw */
  address: string;
  port: number;
  /** the server's own address of the connection */
  local: string;
}

export interface TcpListener {
  readonly process: LabProcess;
  readonly port: number;
  /** peers seen so far */
  peers(): ObservedPeer[];
  /** the next (or an already seen, unclaimed) peer; rejects after timeoutMs */
  waitForPeer(timeoutMs?: number): Promise<ObservedPeer>;
  close(): Promise<void>;
}

// Accepts connections, prints one JSON line per peer, greets and closes.
const LISTENER_SCRIPT = `
const net = require('node:net');
const port = Number(process.argv[1]);
const server = net.createServer((c) => {
  c.on('error', () => {});
  console.log(JSON.stringify({ peer: c.remoteAddress, port: c.remotePort, local: c.localAddress }));
  c.end('junction-lab\\n');
});
server.on('error', (e) => { console.error(String(e)); process.exit(1); });
server.listen(port, '0.0.0.0', () => console.log(JSON.stringify({ listening: port })));
`;

/**
 * A TCP listener in a lab namespace that reports the source address of every
 * connection it accepts. It lives at most `lifetimeS` seconds (default 60).
 */
export async function tcpListen(lab: Lab, ns: LabRole, port: number, options: { lifetimeS?: number } = {}): Promise<TcpListener> {
  const lifetime = String(options.lifetimeS ?? 60);
  const proc = lab.spawn(ns, ['timeout', lifetime, process.execPath, '-e', LISTENER_SCRIPT, checkPort(port)]);
  const seen: ObservedPeer[] = [];
  const waiting: Array<(peer: ObservedPeer) => void> = [];
  let claimed = 0;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`listener on ${ns}:${port} did not start: ${proc.stderr()}`)), 10_000);
    void proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`listener on ${ns}:${port} exited ${code}: ${proc.stderr()}`));
    });
    proc.onLine((line) => {
      let message: { listening?: number; peer?: string; port?: number; local?: string };
      try {
        message = JSON.parse(line) as typeof message;
      } catch {
        return;
      }
      if (message.listening !== undefined) {
        clearTimeout(timer);
        resolve();
      } else if (message.peer !== undefined) {
        const peer = { address: message.peer.replace(/^::ffff:/, ''), port: message.port ?? 0, local: (message.local ?? '').replace(/^::ffff:/, '') };
        seen.push(peer);
        const next = waiting.shift();
        if (next) {
          claimed++;
          next(peer);
        }
      }
    });
  });
  try {
    await ready;
  } catch (error) {
    proc.kill('SIGKILL');
    throw error;
  }
  return {
    process: proc,
    port,
    peers: () => [...seen],
    waitForPeer: (timeoutMs = 5000) => {
      if (claimed < seen.length) return Promise.resolve(seen[claimed++]!);
      return new Promise<ObservedPeer>((resolve, reject) => {
        const timer = setTimeout(() => {
          const index = waiting.indexOf(deliver);
          if (index >= 0) waiting.splice(index, 1);
          reject(new Error(`no connection to ${ns}:${port} within ${timeoutMs} ms`));
        }, timeoutMs);
        const deliver = (peer: ObservedPeer) => {
          clearTimeout(timer);
          resolve(peer);
        };
        waiting.push(deliver);
      });
    },
    close: async () => {
      proc.kill('SIGTERM');
      await Promise.race([proc.exited, sleep(3000)]);
      proc.kill('SIGKILL');
    },
  };
}

/** Polls `ss` inside the namespace until something listens on the TCP port. */
export async function waitForListen(lab: Lab, ns: LabRole, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await lab.exec(ns, ['ss', '-H', '-l', '-t', '-n', 'sport', '=', `:${checkPort(port)}`], { timeoutMs: 5000 });
    if (result.code === 0 && result.stdout.trim() !== '') return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${ns}:${port} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

export interface Iperf3Server {
  readonly process: LabProcess;
  readonly port: number;
  close(): Promise<void>;
}

/** An iperf3 server in a lab namespace, alive at most `lifetimeS` seconds (default 120). */
export async function iperf3Server(lab: Lab, ns: LabRole, options: { port?: number; lifetimeS?: number } = {}): Promise<Iperf3Server> {
  const port = options.port ?? 5201;
  const proc = lab.spawn(ns, ['timeout', String(options.lifetimeS ?? 120), 'iperf3', '-s', '-p', checkPort(port)]);
  try {
    await Promise.race([
      waitForListen(lab, ns, port),
      proc.exited.then((code) => {
        throw new Error(`iperf3 server in ${ns} exited ${code}: ${proc.stderr()}`);
      }),
    ]);
  } catch (error) {
    proc.kill('SIGKILL');
    throw error;
  }
  return {
    process: proc,
    port,
    close: async () => {
      proc.kill('SIGTERM');
      await Promise.race([proc.exited, sleep(3000)]);
      proc.kill('SIGKILL');
    },
  };
}

export interface Iperf3Options {
  /** test length (default 4 s, at most 60) */
  seconds?: number;
  /** parallel streams (default 1, at most 16) */
  parallel?: number;
  port?: number;
  /** server sends, client receives (`-R`) */
  reverse?: boolean;
}

export interface Iperf3Result {
  /** throughput the receiver measured */
  bitsPerSecond: number;
  sentBitsPerSecond: number;
  retransmits: number | undefined;
  /** iperf3's whole JSON report */
  raw: unknown;
}

interface Iperf3Json {
  error?: string;
  end?: {
    sum_sent?: { bits_per_second?: number; retransmits?: number };
    sum_received?: { bits_per_second?: number };
  };
}

/** A TCP iperf3 run from a lab namespace; throws if it fails. */
export async function iperf3Client(lab: Lab, from: LabRole, addr: string, options: Iperf3Options = {}): Promise<Iperf3Result> {
  const seconds = Math.min(Math.max(options.seconds ?? 4, 1), 60);
  const parallel = Math.min(Math.max(options.parallel ?? 1, 1), 16);
  const argv = ['iperf3', '-c', checkAddress(addr), '-p', checkPort(options.port ?? 5201), '-t', String(seconds),
    '-P', String(parallel), '-J', '--connect-timeout', '3000'];
  if (options.reverse) argv.push('-R');
  const result = await lab.exec(from, argv, { timeoutMs: (seconds + 20) * 1000 });
  let report: Iperf3Json;
  try {
    report = JSON.parse(result.stdout) as Iperf3Json;
  } catch {
    throw new Error(`iperf3 from ${from} to ${addr} gave no report (exit ${result.code}): ${result.stderr.trim()}`);
  }
  if (result.code !== 0 || report.error) {
    throw new Error(`iperf3 from ${from} to ${addr} failed: ${report.error ?? result.stderr.trim()}`);
  }
  const received = report.end?.sum_received?.bits_per_second;
  const sent = report.end?.sum_sent?.bits_per_second;
  if (received === undefined || sent === undefined) throw new Error('iperf3 report has no end.sum_received/sum_sent');
  return { bitsPerSecond: received, sentBitsPerSecond: sent, retransmits: report.end?.sum_sent?.retransmits, raw: report };
}
