// Brings the lab (topology.ts) up in network namespaces, runs programs in it,
// and takes it down again.
//
// Safety rule (design/lab.md): all lab traffic starts inside a lab namespace.
// exec() and spawn() refuse to run unless the namespace exists and is not the
// machine's own namespace, so a test can never send a packet from the root
// namespace when the lab is missing. Veth pairs are created directly inside
// their namespaces (`ip -n A link add ... peer ... netns B`), so no lab
// interface ever exists in the root namespace, not even briefly.
import { spawn as spawnChild, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CommandResult,
  type CommandRunner,
  CommandError,
  SystemCommandRunner,
  resolveProgram,
  runChecked,
} from '../../appliance/platform/command-runner.js';
import {
  type LabRole,
  type Topology,
  type TopologyOptions,
  applies,
  buildTopology,
  defaultPrefix,
  namespaceName,
  validatePrefix,
} from './topology.js';
import { sleep } from '../../appliance/platform/sleep.js';

/** Where the record of a running lab is kept: `<dir>/<prefix>.json`. */
export const LAB_STATE_DIR = '/run/junction-lab';
const NETNS_DIR = '/run/netns';
const DEFAULT_EXEC_TIMEOUT_MS = 30_000;

export interface LabOptions {
  /** namespace name prefix; default `jn<pid>` */
  prefix?: string;
  /** MTU of every VPC (or per VPC); default 1500, up to 9000 */
  mtu?: TopologyOptions['mtu'];
  /** add the on-prem site (onprem router ns, onprem-lan host, dx0) */
  onprem?: boolean;
  /** with onprem: 2 adds a second Direct Connect link (router dx1 <-> onprem dx1) */
  dxLinks?: TopologyOptions['dxLinks'];
  /**
   * Plain-routing baseline: the lab itself gives the router its addresses,
   * default route and ip_forward, and gives ccnn return routes to the VPCs.
   * Leave false when Junction runs in the router namespace.
   */
  plainRouting?: boolean;
  /**
   * Leave the lab running when this process exits (the demo lab). The record
   * in `<stateDir>/<prefix>.json` lets `Lab.attach`/`Lab.down(prefix)` find
   * it later. Without keep, a best-effort teardown runs on process exit.
   */
  keep?: boolean;
  runner?: CommandRunner;
  stateDir?: string;
}

export interface ExecOptions {
  input?: string;
  /** default 30 s: every lab command is bounded in time */
  timeoutMs?: number;
  /** throw CommandError unless the command exits 0 */
  check?: boolean;
}

export interface SpawnOptions {
  /**
   * send stdout and stderr to this file instead of keeping them in memory;
   * a kept lab (which must not hold pipes to this process) defaults to
   * `<stateDir>/<prefix>-logs/<role>-<program>-<n>.log`
   */
  logFile?: string;
}

/** A process the lab started inside one of its namespaces. */
export interface LabProcess {
  readonly pid: number;
  readonly ns: LabRole;
  readonly argv: readonly string[];
  /** stdout so far (empty when logged to a file) */
  stdout(): string;
  stderr(): string;
  /** resolves with the exit code (or 128+signal) when the process ends */
  readonly exited: Promise<number>;
  /** calls back for every complete stdout line, including those already seen */
  onLine(listener: (line: string) => void): void;
  kill(signal?: NodeJS.Signals): void;
}

interface ProcessRecord {
  pid: number;
  /** /proc/<pid>/stat field 22, so a reused pid is never mistaken for ours */
  startTime: string;
  ns: LabRole;
  argv: string[];
}

interface LabRecord {
  prefix: string;
  createdAt: string;
  ownerPid: number;
  keep: boolean;
  options: { mtu?: TopologyOptions['mtu']; onprem?: boolean; dxLinks?: TopologyOptions['dxLinks']; plainRouting?: boolean };
  /** namespaces created so far (all of them once up() has finished) */
  namespaces: string[];
  processes: ProcessRecord[];
}

function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces; fields after ") " are plain
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** enough to recognise a process again: a pid alone may have been reused */
type ProcessIdentity = Pick<ProcessRecord, 'pid' | 'startTime'>;

function isAlive(record: ProcessIdentity): boolean {
  return procStartTime(record.pid) === record.startTime;
}

function signalIfOurs(record: ProcessIdentity, signal: NodeJS.Signals): void {
  if (!isAlive(record)) return;
  try {
    process.kill(record.pid, signal);
  } catch {
    /* already gone */
  }
}


/**
 * Whether a named network namespace exists and is not the namespace this
 * process or the machine's init runs in.
 */
export function namespaceIsSafe(name: string): boolean {
  const path = join(NETNS_DIR, name);
  try {
    const target = statSync(path);
    const own = statSync('/proc/self/ns/net');
    // a mounted namespace file lives on nsfs, like /proc/self/ns/net
    if (target.dev !== own.dev || target.ino === own.ino) return false;
    try {
      if (statSync('/proc/1/ns/net').ino === target.ino) return false;
    } catch {
      /* /proc/1 not readable: the check against our own namespace stands */
    }
    return true;
  } catch {
    return false;
  }
}

export class LabSafetyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabSafetyError';
  }
}

export class Lab {
  readonly prefix: string;
  readonly topology: Topology;
  readonly plainRouting: boolean;
  private readonly runner: CommandRunner;
  private readonly stateDir: string;
  private readonly record: LabRecord;
  private readonly children = new Map<number, ChildProcess>();
  private exitHook: (() => void) | undefined;
  private downPromise: Promise<void> | undefined;
  /** set by down(): from then on nothing runs in the lab */
  private closing = false;
  private spawnCount = 0;

  private constructor(topology: Topology, record: LabRecord, runner: CommandRunner, stateDir: string) {
    this.prefix = topology.prefix;
    this.topology = topology;
    this.plainRouting = record.options.plainRouting ?? false;
    this.record = record;
    this.runner = runner;
    this.stateDir = stateDir;
  }

  /** Creates the lab. If any step fails, removes whatever it created and rethrows. */
  static async up(options: LabOptions = {}): Promise<Lab> {
    const prefix = validatePrefix(options.prefix ?? defaultPrefix());
    const runner = options.runner ?? new SystemCommandRunner();
    const stateDir = options.stateDir ?? LAB_STATE_DIR;
    const topology = buildTopology({ prefix, mtu: options.mtu, onprem: options.onprem, dxLinks: options.dxLinks });

    const existing = (await listNamespaces(runner)).filter((name) => name.startsWith(`${prefix}-`));
    if (existing.length > 0) {
      throw new Error(
        `lab "${prefix}" already has namespaces (${existing.join(', ')}); ` +
          `take it down first (Lab.down("${prefix}") / npm run lab:down)`,
      );
    }

    const record: LabRecord = {
      prefix,
      createdAt: new Date().toISOString(),
      ownerPid: process.pid,
      keep: options.keep ?? false,
      options: { mtu: options.mtu, onprem: options.onprem, dxLinks: options.dxLinks, plainRouting: options.plainRouting },
      namespaces: [],
      processes: [],
    };
    const lab = new Lab(topology, record, runner, stateDir);
    if (!record.keep) lab.installExitHook();
    try {
      lab.saveRecord();
      await lab.build();
    } catch (error) {
      await lab.down().catch(() => undefined);
      throw error;
    }
    return lab;
  }

  /** A handle on a lab left running by `Lab.up({keep: true})`, from its record. */
  static async attach(prefix: string, options: { runner?: CommandRunner; stateDir?: string } = {}): Promise<Lab> {
    validatePrefix(prefix);
    const stateDir = options.stateDir ?? LAB_STATE_DIR;
    const record = readRecord(stateDir, prefix);
    if (!record) throw new Error(`no lab "${prefix}" is recorded in ${stateDir}`);
    const topology = buildTopology({ prefix, mtu: record.options.mtu, onprem: record.options.onprem, dxLinks: record.options.dxLinks });
    const lab = new Lab(topology, record, options.runner ?? new SystemCommandRunner(), stateDir);
    const missing = topology.namespaces.filter((ns) => !namespaceIsSafe(ns.name));
    if (missing.length > 0) {
      throw new Error(`lab "${prefix}" is incomplete (missing ${missing.map((ns) => ns.name).join(', ')}); take it down`);
    }
    return lab;
  }

  /**
   * Takes down a lab by prefix: the recorded one (its processes and
   * namespaces) and then any leftover namespace with the prefix.
   * Returns the namespaces removed.
   */
  static async down(prefix: string, options: { runner?: CommandRunner; stateDir?: string } = {}): Promise<string[]> {
    validatePrefix(prefix);
    const runner = options.runner ?? new SystemCommandRunner();
    const stateDir = options.stateDir ?? LAB_STATE_DIR;
    const record = readRecord(stateDir, prefix);
    const removed: string[] = [];
    if (record) {
      const topology = buildTopology({ prefix, mtu: record.options.mtu, onprem: record.options.onprem, dxLinks: record.options.dxLinks });
      const lab = new Lab(topology, record, runner, stateDir);
      const present = record.namespaces.filter((name) => existsSync(join(NETNS_DIR, name)));
      await lab.down();
      removed.push(...present);
    }
    for (const name of await Lab.cleanupStale(prefix, { runner, stateDir })) {
      if (!removed.includes(name)) removed.push(name);
    }
    return removed;
  }

  /**
   * Removes every namespace named `<prefix>-*` (after killing the processes
   * inside it) and the record of the lab. For leftovers of crashed runs.
   */
  static async cleanupStale(prefix: string, options: { runner?: CommandRunner; stateDir?: string } = {}): Promise<string[]> {
    validatePrefix(prefix);
    const runner = options.runner ?? new SystemCommandRunner();
    const stateDir = options.stateDir ?? LAB_STATE_DIR;
    const record = readRecord(stateDir, prefix);
    if (record) await terminate(record.processes);
    const names = (await listNamespaces(runner)).filter((name) => name.startsWith(`${prefix}-`));
    await removeNamespaces(runner, names);
    rmSync(recordPath(stateDir, prefix), { force: true });
    rmSync(join(stateDir, `${prefix}-logs`), { recursive: true, force: true });
    return names;
  }

  /** `<prefix>-<role>` */
  nsName(role: LabRole): string {
    return namespaceName(this.prefix, role);
  }

  /** Throws unless the lab namespace exists (and is not the root namespace). */
  assertNamespace(role: LabRole): string {
    if (!this.topology.namespaces.some((ns) => ns.role === role)) {
      throw new LabSafetyError(`lab "${this.prefix}" has no namespace for role "${role}"`);
    }
    const name = this.nsName(role);
    if (this.closing || !namespaceIsSafe(name)) {
      throw new LabSafetyError(`refusing to run in "${name}": the namespace does not exist (is the lab up?)`);
    }
    return name;
  }

  /** Runs a program inside a lab namespace, bounded in time. */
  async exec(role: LabRole, argv: string[], options: ExecOptions = {}): Promise<CommandResult> {
    if (argv.length === 0) throw new Error('exec needs a program');
    const name = this.assertNamespace(role);
    const args = ['netns', 'exec', name, ...argv];
    const runOptions = { timeoutMs: options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS, ...(options.input !== undefined ? { input: options.input } : {}) };
    const result = await this.runner.run('ip', args, runOptions);
    if (options.check && result.code !== 0) throw new CommandError('ip', args, result);
    return result;
  }

  /**
   * Starts a long-running program inside a lab namespace (a server, Junction
   * itself). The lab remembers its pid and kills it on down(). Callers bound
   * its lifetime themselves (e.g. `timeout 60 ...`) where it makes sense.
   */
  spawn(role: LabRole, argv: string[], options: SpawnOptions = {}): LabProcess {
    if (argv.length === 0) throw new Error('spawn needs a program');
    const name = this.assertNamespace(role);
    // Long-running processes cannot go through CommandRunner (it waits for
    // the exit); this is the one place the lab starts a child by itself.
    let logFile = options.logFile;
    if (!logFile && this.record.keep) {
      const dir = this.logDir();
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const program = (argv[0] ?? 'process').replace(/^.*\//, '').replace(/[^A-Za-z0-9_.-]/g, '_');
      logFile = join(dir, `${role}-${program}-${++this.spawnCount}.log`);
    }
    let logFd: number | undefined;
    if (logFile) logFd = openSync(logFile, 'a');
    const child = spawnChild(resolveProgram('ip'), ['netns', 'exec', name, ...argv], {
      stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe'],
      detached: this.record.keep,
    });
    if (logFd !== undefined) closeSync(logFd);
    const out: string[] = [];
    const err: string[] = [];
    const lines: string[] = [];
    const listeners: Array<(line: string) => void> = [];
    let partial = '';
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      out.push(chunk);
      partial += chunk;
      let newline: number;
      while ((newline = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, newline);
        partial = partial.slice(newline + 1);
        lines.push(line);
        for (const listener of listeners) listener(line);
      }
    });
    child.stderr?.on('data', (chunk: string) => err.push(chunk));
    const exited = new Promise<number>((resolve) => {
      child.on('error', () => resolve(127));
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${argv[0]} in ${name}`);
    // `ip netns exec` execs the program in place, so this pid is the program.
    const record: ProcessRecord = { pid, startTime: procStartTime(pid) ?? '', ns: role, argv: [...argv] };
    this.record.processes.push(record);
    this.children.set(pid, child);
    this.saveRecord();
    void exited.then(() => {
      this.children.delete(pid);
      const index = this.record.processes.indexOf(record);
      if (index >= 0) this.record.processes.splice(index, 1);
      if (!this.closing) this.saveRecord();
    });
    if (this.record.keep) child.unref();
    return {
      pid,
      ns: role,
      argv: record.argv,
      stdout: () => out.join(''),
      stderr: () => err.join(''),
      exited,
      onLine: (listener) => {
        for (const line of lines) listener(line);
        listeners.push(listener);
      },
      kill: (signal = 'SIGTERM') => signalIfOurs(record, signal),
    };
  }

  /** The live process the lab started (this run or an earlier one) whose argv matches. */
  findProcess(matches: (argv: readonly string[]) => boolean): { pid: number; argv: readonly string[] } | undefined {
    const found = this.record.processes.find((p) => isAlive(p) && matches(p.argv));
    return found && { pid: found.pid, argv: found.argv };
  }

  /**
   * Stops one process the lab started, by the pid and start time it
   * recorded (never by name), and forgets it. The rest of the lab stays.
   * Returns false when no such live process is recorded.
   */
  async stopProcess(pid: number, graceMs = 5000): Promise<boolean> {
    const record = this.record.processes.find((p) => p.pid === pid);
    if (!record || !isAlive(record)) return false;
    await terminate([record], graceMs);
    // SIGKILL is not instant: the caller may start a successor on the same socket
    const deadline = Date.now() + 2000;
    while (isAlive(record) && Date.now() < deadline) await sleep(50);
    this.record.processes.splice(this.record.processes.indexOf(record), 1);
    this.saveRecord();
    return true;
  }

  /** pids of the processes the lab started that are still running */
  pids(): number[] {
    return this.record.processes.filter(isAlive).map((p) => p.pid);
  }

  /**
   * Kills every process the lab started (and anything still running inside
   * its namespaces), removes every namespace it created and its record.
   * Safe to call twice, concurrently, and after a failed up().
   */
  down(): Promise<void> {
    this.closing = true;
    // a failed teardown may be retried by calling down() again
    this.downPromise ??= this.teardown().catch((error: unknown) => {
      this.downPromise = undefined;
      throw error;
    });
    return this.downPromise;
  }

  private logDir(): string {
    return join(this.stateDir, `${this.prefix}-logs`);
  }

  private async teardown(): Promise<void> {
    await terminate([...this.record.processes]);
    const names = this.topology.namespaces.map((ns) => ns.name).filter((name) => this.record.namespaces.includes(name));
    await removeNamespaces(this.runner, names);
    const left = names.filter((name) => existsSync(join(NETNS_DIR, name)));
    if (left.length === 0) {
      rmSync(recordPath(this.stateDir, this.prefix), { force: true });
      rmSync(this.logDir(), { recursive: true, force: true });
    }
    this.removeExitHook();
    if (left.length > 0) throw new Error(`lab "${this.prefix}": could not remove ${left.join(', ')}`);
  }

  private async ip(args: string[]): Promise<void> {
    await runChecked(this.runner, 'ip', args, { timeoutMs: DEFAULT_EXEC_TIMEOUT_MS });
  }

  private async build(): Promise<void> {
    const t = this.topology;
    const plain = this.plainRouting;
    const ns = (role: LabRole) => this.nsName(role);

    for (const { name } of t.namespaces) {
      // recorded first: if `netns add` half-succeeds, down() still removes it
      this.record.namespaces.push(name);
      this.saveRecord();
      await this.ip(['netns', 'add', name]);
    }
    for (const { role, name } of t.namespaces) {
      await this.ip(['-n', name, 'link', 'set', 'lo', 'up']);
      // no IPv6 duplicate-address-detection delay on lab links
      await this.exec(role, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0'], { check: true });
    }
    for (const s of t.sysctls) {
      if (applies(s.owner, plain)) await this.exec(s.ns, ['sysctl', '-q', '-w', `${s.key}=${s.value}`], { check: true });
    }
    for (const link of t.links) {
      const mtu = String(link.mtu);
      await this.ip(['-n', ns(link.a.ns), 'link', 'add', link.a.ifname, 'mtu', mtu, 'type', 'veth',
        'peer', 'name', link.b.ifname, 'mtu', mtu, 'netns', ns(link.b.ns)]);
    }
    for (const bridge of t.bridges) {
      const name = ns(bridge.ns);
      await this.ip(['-n', name, 'link', 'add', bridge.name, 'mtu', String(bridge.mtu), 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
      for (const port of bridge.ports) await this.ip(['-n', name, 'link', 'set', port, 'master', bridge.name, 'up']);
      await this.ip(['-n', name, 'link', 'set', bridge.name, 'mtu', String(bridge.mtu), 'up']);
    }
    for (const link of t.links) {
      for (const end of [link.a, link.b]) {
        if (end.address && applies(end.addressOwner ?? 'lab', plain)) {
          await this.ip(['-n', ns(end.ns), 'address', 'add', end.address, 'dev', end.ifname]);
        }
        await this.ip(['-n', ns(end.ns), 'link', 'set', end.ifname, 'up']);
      }
    }
    for (const route of t.routes) {
      if (applies(route.owner, plain)) await this.ip(['-n', ns(route.ns), 'route', 'add', route.to, 'via', route.via]);
    }
  }

  private saveRecord(): void {
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    const path = recordPath(this.stateDir, this.prefix);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.record, null, 2) + '\n');
    renameSync(tmp, path);
  }

  /** Best-effort synchronous teardown if the process exits with the lab up. */
  private installExitHook(): void {
    this.exitHook = () => {
      for (const p of this.record.processes) signalIfOurs(p, 'SIGKILL');
      for (const name of this.record.namespaces) {
        if (existsSync(join(NETNS_DIR, name))) {
          for (const pid of namespacePidsSync(name)) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              /* gone */
            }
          }
          spawnSync(resolveProgram('ip'), ['netns', 'delete', name], { stdio: 'ignore', timeout: 5000 });
        }
      }
      rmSync(recordPath(this.stateDir, this.prefix), { force: true });
    };
    process.once('exit', this.exitHook);
  }

  private removeExitHook(): void {
    if (this.exitHook) process.removeListener('exit', this.exitHook);
    this.exitHook = undefined;
  }
}

function recordPath(stateDir: string, prefix: string): string {
  return join(stateDir, `${prefix}.json`);
}

function readRecord(stateDir: string, prefix: string): LabRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(recordPath(stateDir, prefix), 'utf8')) as LabRecord;
    if (record.prefix !== prefix || !Array.isArray(record.namespaces) || !Array.isArray(record.processes)) return undefined;
    return record;
  } catch {
    return undefined;
  }
}

/** Names from `ip netns list` ("name (id: 3)" lines). */
export async function listNamespaces(runner: CommandRunner = new SystemCommandRunner()): Promise<string[]> {
  const out = await runChecked(runner, 'ip', ['netns', 'list'], { timeoutMs: 10_000 });
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}

function namespacePidsSync(name: string): number[] {
  const result = spawnSync(resolveProgram('ip'), ['netns', 'pids', name], { encoding: 'utf8', timeout: 5000 });
  return parsePids(result.stdout ?? '');
}

function parsePids(text: string): number[] {
  return text
    .split(/\s+/)
    .filter((s) => /^[0-9]+$/.test(s))
    .map(Number)
    .filter((pid) => pid > 1 && pid !== process.pid);
}

/** SIGTERM, a short grace period, then SIGKILL; only processes whose start time still matches. */
async function terminate(processes: ProcessIdentity[], graceMs = 2000): Promise<void> {
  const alive = processes.filter(isAlive);
  for (const p of alive) signalIfOurs(p, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive.some(isAlive) && Date.now() < deadline) await sleep(50);
  for (const p of alive) signalIfOurs(p, 'SIGKILL');
}

/**
 * Kills whatever still runs inside the namespaces (only processes inside
 * them, which belong to the lab) and deletes them. A namespace with a
 * process left in it would outlive its name, links and all.
 */
async function removeNamespaces(runner: CommandRunner, names: string[]): Promise<void> {
  const present = names.filter((name) => existsSync(join(NETNS_DIR, name)));
  const inside: ProcessIdentity[] = [];
  for (const name of present) {
    const result = await runner.run('ip', ['netns', 'pids', name], { timeoutMs: 10_000 });
    for (const pid of parsePids(result.stdout)) {
      const startTime = procStartTime(pid);
      if (startTime) inside.push({ pid, startTime });
    }
  }
  await terminate(inside);
  for (const name of present) {
    const result = await runner.run('ip', ['netns', 'delete', name], { timeoutMs: 10_000 });
    if (result.code !== 0 && existsSync(join(NETNS_DIR, name))) {
      // one retry: a process may have been exiting while we looked
      await sleep(200);
      await runner.run('ip', ['netns', 'delete', name], { timeoutMs: 10_000 });
    }
  }
}
