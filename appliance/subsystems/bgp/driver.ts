// The BGP subsystem: Junction's own bird, started with the first `bgp`
// section and stopped when it goes, running exactly the rendered bird.conf.
// Apply follows design/bird.md: render the whole file, `bird -p`, then
// `configure` (with `timeout N` inside a commit-confirm, made permanent by
// confirm()); an unchanged rendering costs nothing, and BIRD restarts only
// the protocols whose configuration changed, so editing one neighbor leaves
// the others' sessions alone. Passwords go into bird.conf (mode 0600) and
// nowhere else: not into plans, actions, logs or errors.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../model/schema.js';
import type { Problem } from '../../model/problems.js';
import type { Capabilities } from '../../platform/capabilities.js';
import type { CommandRunner } from '../../platform/command-runner.js';
import type { Logger } from '../../platform/log.js';
import { ApplyFailed, type ApplyOptions, type Driver } from '../../core/subsystem.js';
import { networkOf, parseAddress, parsePrefix, rangeContains, type IpRange } from '../../model/ip.js';
import { BirdApplier, BirdConfigInvalid } from './apply.js';
import { BirdProcess, type BirdProcessOptions } from './bird-process.js';
import { birdCommand, type BirdControl } from './bird-socket.js';
import { renderBirdConfig, prefixSetItem, type VpcSubnet } from './render.js';
import { parseRoutes, routeCommand, type LearnedRoute, type RouteQuery } from './routes.js';
import { BGP_DEFAULTS, BgpSection, resolveNeighbor, type PrefixMatch } from './schema.js';
import { BgpStatusReader, type NeighborStatus } from './status.js';
import { verifyBgp } from './verify.js';

export interface BgpArtifact {
  active: boolean;
  /** the whole bird.conf; holds passwords, so it is never described or logged */
  text: string;
  /** readable lines for plans (no passwords) */
  lines: string[];
  /** neighbor id -> document path, to map bird's complaints back */
  paths: Record<string, string>;
  /** the section itself, for status and resets (in memory only) */
  section?: BgpSection;
}

export const inactiveBgp = (): BgpArtifact => ({ active: false, text: '', lines: [], paths: {} });

export interface BgpDriverOptions {
  runner: CommandRunner;
  /** bird's files go to <stateDir>/bird */
  stateDir: string;
  log: Logger;
  /** TCP MD5 on this kernel (from the capability probe) */
  tcpMd5?: () => Capabilities['tcpMd5'];
  /** seams for unit tests: how bird is started, and its control socket */
  launchBird?: (options: BirdProcessOptions) => BirdDaemon;
  control?: BirdControl;
}

/** What the driver needs of a supervised bird (BirdProcess). */
export type BirdDaemon = Pick<BirdProcess, 'pid' | 'restarts' | 'start' | 'stop' | 'recentLog'>;

/** What GET /v1/bgp/status returns per neighbor. */
export interface BgpNeighborReport {
  id: string;
  address: string;
  interface?: string;
  remote_asn: number;
  enabled: boolean;
  /** BGP FSM state as BIRD reports it (Idle, Connect, Active, OpenSent, OpenConfirm, Established, Down) */
  state: string;
  /** BIRD protocol state (up, start, down) */
  protocol_state: string;
  established: boolean;
  since?: string;
  uptime_s?: number;
  last_error?: string;
  prefixes: { received: number; accepted: number; filtered: number; advertised: number };
  import_limit?: { limit: number; action: string };
  hold_time?: number;
  keepalive?: number;
  md5: boolean;
  bfd: { configured: boolean; state?: string; since?: string; interval_s?: number; timeout_s?: number };
}

export interface BgpStatus {
  configured: boolean;
  bird: { running: boolean; pid?: number; restarts: number; error?: string };
  tcp_md5?: Capabilities['tcpMd5'];
  /** the kernel's TCP MD5 counters in this namespace (nstat TcpExtTCPMD5*) */
  md5_counters?: Md5Counters;
  neighbors: BgpNeighborReport[];
}

export interface Md5Counters {
  failure: number;
  not_found: number;
  unexpected: number;
}

export class BgpUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BgpUnavailable';
  }
}

/** The VPC subnets announced by default: the networks of the vpc-role interfaces. */
export function vpcSubnetsOf(config: Config): VpcSubnet[] {
  const subnets: VpcSubnet[] = [];
  for (const iface of config.interfaces) {
    if (iface.role !== 'vpc') continue;
    for (const address of iface.addresses ?? []) {
      const prefix = networkOf(address);
      if (prefix) subnets.push({ prefix, interface: iface.name });
    }
  }
  return subnets;
}

const items = (list: PrefixMatch[]) => list.map(prefixSetItem).join(', ');

/** Readable lines per neighbor and filter; never the password itself. */
export function describeBgp(section: BgpSection, vpcSubnets: VpcSubnet[]): string[] {
  const lines = [`bgp local AS ${section.asn}, router id ${section.router_id}, kernel metric ${section.kernel?.metric ?? BGP_DEFAULTS.kernelMetric}, ECMP across equal paths`];
  for (const raw of [...section.neighbors].sort((a, b) => a.id.localeCompare(b.id))) {
    const n = resolveNeighbor(raw, section.asn);
    const session = [
      `${n.address} AS ${n.remoteAsn} (${n.ibgp ? 'iBGP' : 'eBGP'})`,
      n.multihop !== undefined ? `multihop ttl ${n.multihop}` : `direct${n.interface ? ` on ${n.interface}` : ''}`,
      ...(n.localAddress ? [`from ${n.localAddress}`] : []),
      `hold ${n.holdTime}s${n.keepalive !== undefined ? ` keepalive ${n.keepalive}s` : ''}`,
      n.bfd ? `bfd ${n.bfd.intervalMs}ms x${n.bfd.multiplier}` : 'bfd off',
      n.gracefulRestart ? `graceful restart ${n.gracefulRestart.time}s` : 'graceful restart off',
      n.password !== undefined ? 'md5 password set' : 'no md5',
      n.enabled ? 'enabled' : 'disabled',
    ];
    lines.push(`neighbor ${n.id}: ${session.join(', ')}`);
    const importList = n.importPrefixes ? `[${items(n.importPrefixes)}]` : n.ibgp ? 'everything (iBGP default)' : 'nothing (eBGP default deny)';
    lines.push(`neighbor ${n.id} import: ${importList}${n.localPref !== undefined ? `, local-pref ${n.localPref}` : ''}${n.maxPrefix ? `, max ${n.maxPrefix.limit} prefixes then ${n.maxPrefix.action}` : ''}`);
    const exportList = n.exportPrefixes ? `[${items(n.exportPrefixes)}]` : `VPC subnets [${vpcSubnets.map((s) => s.prefix).join(', ')}]`;
    lines.push(`neighbor ${n.id} export: ${exportList}${n.med !== undefined ? `, med ${n.med}` : ''}${n.prepend ? `, prepend ${n.prepend}x` : ''}`);
  }
  return lines;
}

interface Subnet { interface: string; role: string; range: IpRange; address: bigint }

function connectedSubnets(config: Config): Subnet[] {
  const out: Subnet[] = [];
  for (const iface of config.interfaces) {
    for (const text of iface.addresses ?? []) {
      const p = parsePrefix(text);
      if (p) out.push({ interface: iface.name, role: iface.role, range: { family: p.family, first: p.first, last: p.last }, address: p.address });
    }
  }
  return out;
}

/** /proc/net/netstat of this namespace: the kernel's TCP MD5 drop counters. */
export async function readMd5Counters(file = '/proc/net/netstat'): Promise<Md5Counters | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  const lines = text.split('\n').filter((l) => l.startsWith('TcpExt:'));
  if (lines.length < 2) return undefined;
  const names = lines[0].split(/\s+/).slice(1);
  const values = lines[1].split(/\s+/).slice(1).map(Number);
  const get = (name: string) => values[names.indexOf(name)] ?? 0;
  return { failure: get('TCPMD5Failure'), not_found: get('TCPMD5NotFound'), unexpected: get('TCPMD5Unexpected') };
}

export class BgpDriver implements Driver<BgpArtifact> {
  readonly name = 'bgp';
  readonly schemaSection = { key: 'bgp', schema: BgpSection };
  readonly birdDir: string;
  private bird: BirdDaemon | undefined;
  private readonly control: BirdControl;
  private readonly applier: BirdApplier;
  /** the last artifact fully applied: what bird runs */
  private applied: BgpArtifact = inactiveBgp();
  private pendingConfirm = false;
  private queue: Promise<unknown> = Promise.resolve();
  /** MD5 counters as last seen, and when each last went up */
  private md5Seen: { counters: Md5Counters; risenAt: number } | undefined;

  constructor(private readonly options: BgpDriverOptions) {
    this.birdDir = path.join(options.stateDir, 'bird');
    const socketPath = path.join(this.birdDir, 'bird.ctl');
    // One short connection per command: survives bird restarts without bookkeeping.
    this.control = options.control ?? { command: (command) => birdCommand(socketPath, command, { timeoutMs: 30_000 }) };
    this.applier = new BirdApplier({ runner: options.runner, bird: this.control, configFile: path.join(this.birdDir, 'bird.conf') });
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  get birdPid(): number | undefined {
    return this.bird?.pid;
  }

  verify(config: Config, capabilities: Capabilities): Problem[] {
    const section = config.bgp;
    if (!section) return [];
    const problems = verifyBgp(section, { interfaces: config.interfaces });
    const add = (p: string, message: string) => problems.push({ path: p, message });
    const subnets = connectedSubnets(config);
    const dx = subnets.filter((s) => s.role === 'dx');
    section.neighbors.forEach((n, i) => {
      const at = `/bgp/neighbors/${i}`;
      const address = parseAddress(n.address);
      if (address && n.multihop === undefined) {
        const point = { family: address.family, first: address.value, last: address.value };
        const onLink = dx.filter((s) => rangeContains(s.range, point) && (!n.interface || s.interface === n.interface));
        if (!onLink.length) {
          add(`${at}/address`, n.interface
            ? `${n.address} is not in a subnet of ${n.interface}; a directly connected neighbor must be on the link (or set multihop)`
            : `${n.address} is not in the subnet of any dx interface; a directly connected neighbor must be on a Direct Connect link (or set multihop)`);
        } else if (onLink.some((s) => s.address === address.value)) {
          add(`${at}/address`, `${n.address} is Junction's own address on ${onLink[0].interface}`);
        }
      }
      if (n.local_address !== undefined) {
        const local = parseAddress(n.local_address);
        if (local && !subnets.some((s) => s.address === local.value && s.range.family === local.family && (n.multihop !== undefined || s.role === 'dx'))) {
          add(`${at}/local_address`, `${n.local_address} is not an address of ${n.multihop !== undefined ? 'any' : 'a dx'} interface`);
        }
      }
      if (n.password !== undefined && capabilities.tcpMd5 && !capabilities.tcpMd5.supported) {
        add(`${at}/password`, `this kernel cannot sign TCP segments (TCP MD5, RFC 2385, CONFIG_TCP_MD5SIG): a BGP password cannot work here (${capabilities.tcpMd5.detail})`);
      }
    });
    return problems;
  }

  render(config: Config): BgpArtifact {
    const section = config.bgp;
    if (!section) return inactiveBgp();
    const vpcSubnets = vpcSubnetsOf(config);
    return {
      active: true,
      text: renderBirdConfig({ section, vpcSubnets }),
      lines: describeBgp(section, vpcSubnets),
      paths: Object.fromEntries(section.neighbors.map((n, i) => [n.id, `/bgp/neighbors/${i}`])),
      section,
    };
  }

  describe(artifact: BgpArtifact): string[] {
    return artifact.lines;
  }

  async snapshot(): Promise<BgpArtifact> {
    return this.applied;
  }

  async drift(desired: BgpArtifact): Promise<string[]> {
    if (!desired.active) return this.bird?.pid ? ['bird runs but no bgp section is configured'] : [];
    if (!this.bird?.pid) return ['bird is not running while a bgp section is configured'];
    const running = await this.applier.running();
    if (running !== desired.text) return ['bird.conf differs from the rendering'];
    try {
      await this.control.command('show status');
    } catch (error) {
      return [`bird does not answer on its control socket: ${(error as Error).message}`];
    }
    return [];
  }

  apply(desired: BgpArtifact, options: ApplyOptions = {}): Promise<string[]> {
    return this.exclusive(() => this.applyNow(desired, options));
  }

  private async applyNow(desired: BgpArtifact, options: ApplyOptions): Promise<string[]> {
    const actions: string[] = [];
    if (!desired.active) {
      if (this.bird) {
        await this.stopBird();
        actions.push('stop bird (no bgp section)');
      }
      if (this.applied.active || actions.length) {
        // bird withdraws its kernel routes on a clean exit; make sure nothing stays behind
        for (const family of ['-4', '-6']) await this.options.runner.run('ip', [family, 'route', 'flush', 'proto', 'bird']);
      }
      this.applied = desired;
      this.pendingConfirm = false;
      return actions;
    }
    try {
      if (!this.bird?.pid) {
        if (this.bird) await this.stopBird();
        await mkdir(this.birdDir, { recursive: true, mode: 0o700 });
        await this.applier.install(desired.text);
        await this.startBird();
        actions.push(`start bird (pid ${this.bird!.pid})`);
        this.pendingConfirm = false;
      } else {
        const outcome = await this.applier.apply(desired.text, { ...(options.confirmTimeoutS ? { confirmTimeoutS: options.confirmTimeoutS } : {}) });
        if (outcome.changed) {
          actions.push(`bird -p, configure${options.confirmTimeoutS ? ` timeout ${options.confirmTimeoutS}` : ''}: ${outcome.messages.join('; ')}`);
          this.pendingConfirm = outcome.pendingConfirm;
        }
      }
    } catch (error) {
      throw this.applyError(error, desired);
    }
    actions.push(...(await this.ensureMultipathHash()));
    this.applied = desired;
    return actions;
  }

  /** ECMP: hash flows by ports too (L4), so many flows between two hosts still use both links. */
  private async ensureMultipathHash(): Promise<string[]> {
    const key = 'net.ipv4.fib_multipath_hash_policy';
    const now = await this.options.runner.run('sysctl', ['-n', key]);
    if (now.code !== 0 || now.stdout.trim() === '1') return [];
    const set = await this.options.runner.run('sysctl', ['-q', '-w', `${key}=1`]);
    return set.code === 0 ? [`sysctl ${key}=1`] : [];
  }

  private applyError(error: unknown, desired: BgpArtifact): ApplyFailed {
    if (error instanceof ApplyFailed) return error;
    const message = (error as Error).message;
    let where = '/bgp';
    if (error instanceof BirdConfigInvalid && error.line !== undefined) {
      // the neighbor whose protocol or filter block holds the failing line
      const before = desired.text.split('\n').slice(0, error.line).reverse();
      for (const line of before) {
        const m = /^(?:protocol bgp|filter) 'bgp_([A-Za-z0-9_-]+?)(?:_import|_export)?'/.exec(line);
        if (m && desired.paths[m[1]]) {
          where = desired.paths[m[1]];
          break;
        }
      }
    }
    return new ApplyFailed(this.name, message.replaceAll(/password "[^"]*"/g, 'password "********"'), where);
  }

  private async startBird(): Promise<void> {
    const launch = this.options.launchBird ?? ((o: BirdProcessOptions) => new BirdProcess(o));
    const bird: BirdDaemon = launch({
      stateDir: this.birdDir,
      backoff: { initialMs: 500, maxMs: 10_000 },
      onRestart: (pid) => void this.afterBirdRestart(bird, pid),
      onLog: (line) => this.options.log.debug('bird', { line }),
    });
    this.bird = bird;
    try {
      await bird.start();
    } catch (error) {
      this.bird = undefined;
      throw new ApplyFailed(this.name, (error as Error).message, '/bgp');
    }
    this.options.log.info('bgp: bird started', { pid: bird.pid, config: path.join(this.birdDir, 'bird.conf') });
  }

  private async stopBird(): Promise<void> {
    const bird = this.bird;
    this.bird = undefined;
    if (bird) {
      await bird.stop();
      this.options.log.info('bgp: bird stopped');
    }
  }

  /** The supervisor restarted bird (it read bird.conf again): make sure that file is the applied one. */
  private afterBirdRestart(bird: BirdDaemon, pid: number): Promise<void> {
    return this.exclusive(async () => {
      if (this.bird !== bird || !this.applied.active) return;
      this.options.log.warn('bgp: bird restarted; applying the configuration again', { pid, restarts: bird.restarts });
      this.pendingConfirm = false;
      try {
        const outcome = await this.applier.apply(this.applied.text);
        this.options.log.info('bgp: configuration applied after restart', { changed: outcome.changed });
      } catch (error) {
        this.options.log.error('bgp: re-apply after restart failed', { error: (error as Error).message });
      }
    });
  }

  async confirm(): Promise<void> {
    await this.exclusive(async () => {
      if (!this.pendingConfirm || !this.bird?.pid) return;
      await this.applier.confirm();
      this.pendingConfirm = false;
    });
  }

  /** Stops bird (appliance shutdown); the kernel keeps its routes until bird's clean exit removes them. */
  close(): Promise<void> {
    return this.exclusive(() => this.stopBird());
  }

  // ---- status and control (the API's BgpControl) ----

  private section(): BgpSection | undefined {
    return this.applied.section;
  }

  private requireBird(): void {
    if (!this.applied.active) throw new BgpUnavailable('BGP is not configured (no bgp section)');
    if (!this.bird?.pid) throw new BgpUnavailable(`bird is not running${this.bird ? `: ${this.bird.recentLog().slice(-3).join(' | ')}` : ''}`);
  }

  private requireNeighbor(id: string): void {
    if (!this.section()?.neighbors.some((n) => n.id === id)) throw new RangeError(`no BGP neighbor "${id}"`);
  }

  async status(): Promise<BgpStatus> {
    const section = this.section();
    const tcpMd5 = this.options.tcpMd5?.();
    const base: BgpStatus = {
      configured: this.applied.active,
      bird: { running: !!this.bird?.pid, ...(this.bird?.pid ? { pid: this.bird.pid } : {}), restarts: this.bird?.restarts ?? 0 },
      ...(tcpMd5 ? { tcp_md5: tcpMd5 } : {}),
      neighbors: [],
    };
    if (!this.applied.active || !section) return base;
    const counters = await readMd5Counters();
    const md5Rising = this.noteMd5(counters);
    if (counters) base.md5_counters = counters;
    let live: NeighborStatus[] = [];
    if (this.bird?.pid) {
      try {
        live = await new BgpStatusReader(this.control).neighbors();
      } catch (error) {
        base.bird.error = (error as Error).message;
      }
    }
    const now = Date.now();
    base.neighbors = section.neighbors.map((raw): BgpNeighborReport => {
      const n = resolveNeighbor(raw, section.asn);
      const s = live.find((x) => x.id === n.id);
      const established = !!s?.established;
      const since = s?.since && !Number.isNaN(Date.parse(s.since)) ? s.since : undefined;
      let lastError = s?.lastError;
      // The kernel counts MD5 drops per namespace, not per peer: blame them on
      // sessions that are trying to connect (BIRD state "start"), never on
      // one BIRD shut down for a reason of its own (disabled, route limit).
      const connecting = !established && n.enabled && s?.state === 'start';
      if (connecting && n.password !== undefined && md5Rising) {
        lastError = `TCP MD5 signature mismatch: the kernel dropped segments with a wrong or missing signature (TCPMD5Failure ${counters?.failure ?? 0}, TCPMD5NotFound ${counters?.not_found ?? 0}); check the password on both ends${lastError ? ` (bird: ${lastError})` : ''}`;
      } else if (connecting && n.password === undefined && md5Rising && (counters?.unexpected ?? 0) > 0) {
        lastError = `the peer signs its segments (TCP MD5) but no password is configured here (TCPMD5Unexpected ${counters?.unexpected})${lastError ? ` (bird: ${lastError})` : ''}`;
      }
      const limit = s?.channels.find((c) => c.importLimit)?.importLimit;
      return {
        id: n.id,
        address: n.address,
        ...(n.interface ? { interface: n.interface } : {}),
        remote_asn: n.remoteAsn,
        enabled: n.enabled,
        state: s?.bgpState ?? (n.enabled ? 'Unknown' : 'Down'),
        protocol_state: s?.state ?? 'unknown',
        established,
        ...(since ? { since } : {}),
        ...(established && since ? { uptime_s: Math.max(0, Math.round((now - Date.parse(since)) / 1000)) } : {}),
        ...(lastError ? { last_error: lastError } : {}),
        prefixes: {
          received: (s?.routes.imported ?? 0) + (s?.routes.filtered ?? 0),
          accepted: s?.routes.imported ?? 0,
          filtered: s?.routes.filtered ?? 0,
          advertised: s?.routes.exported ?? 0,
        },
        ...(limit ? { import_limit: limit } : {}),
        ...(s?.holdTime ? { hold_time: s.holdTime } : {}),
        ...(s?.keepaliveTime ? { keepalive: s.keepaliveTime } : {}),
        md5: n.password !== undefined,
        bfd: {
          configured: !!n.bfd,
          ...(s?.bfd ? { state: s.bfd.state, since: s.bfd.since, interval_s: s.bfd.intervalS, timeout_s: s.bfd.timeoutS } : n.bfd ? { state: 'Down' } : {}),
        },
      };
    });
    return base;
  }

  /** True while the kernel's MD5 drop counters went up within the last 15 s. */
  private noteMd5(counters: Md5Counters | undefined): boolean {
    if (!counters) return false;
    const now = Date.now();
    const previous = this.md5Seen;
    const total = (c: Md5Counters) => c.failure + c.not_found + c.unexpected;
    if (!previous) {
      // first look: counters above zero count as recent (nothing else to compare with)
      this.md5Seen = { counters, risenAt: total(counters) > 0 ? now : 0 };
    } else if (total(counters) > total(previous.counters)) {
      this.md5Seen = { counters, risenAt: now };
    } else {
      this.md5Seen = { counters, risenAt: previous.risenAt };
    }
    return now - this.md5Seen.risenAt < 15_000;
  }

  async routes(query: RouteQuery & { limit?: number }): Promise<LearnedRoute[]> {
    if (query.neighbor !== undefined) this.requireNeighbor(query.neighbor);
    const command = routeCommand(query);
    this.requireBird();
    const routes = parseRoutes(await this.control.command(command), { filtered: query.filtered ?? false });
    return query.limit !== undefined ? routes.slice(0, query.limit) : routes;
  }

  async reset(id: string): Promise<string> {
    this.requireNeighbor(id);
    this.requireBird();
    return this.applier.resetNeighbor(id);
  }

  async softReset(id: string, direction?: 'in' | 'out'): Promise<string> {
    this.requireNeighbor(id);
    this.requireBird();
    return this.applier.softResetNeighbor(id, direction);
  }
}
