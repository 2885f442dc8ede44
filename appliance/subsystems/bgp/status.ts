// The state side of the BGP subsystem: what GET /v1/bgp/status shows per
// neighbor (bird's view, read with bird-status.ts) and the kernel's TCP MD5
// drop counters, which are the only way to tell a wrong BGP password from a
// peer that does not answer. Reads only; changes nothing.
import type { DaemonOrigin } from '../../platform/supervisor.js';
import { readFile } from 'node:fs/promises';
import type { Capabilities } from '../../platform/capabilities.js';
import { BgpStatusReader, type NeighborStatus } from './bird-status.js';
import type { BgpRunning } from './config.js';
import { resolveNeighbor } from './schema.js';

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
  /** origin: started, adopted from an earlier Junction, or started in place of one that could not be (reason) */
  bird: { running: boolean; pid?: number; restarts: number; origin?: DaemonOrigin; error?: string };
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

/** How long after the MD5 counters last went up a connecting session is blamed on them. */
const MD5_RECENT_MS = 15_000;

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

export interface BgpStateOptions {
  /** TCP MD5 on this kernel (from the capability probe) */
  tcpMd5?: () => Capabilities['tcpMd5'];
  /** seam for unit tests: where the MD5 counters come from */
  md5Counters?: () => Promise<Md5Counters | undefined>;
}

export class BgpState {
  /** MD5 counters as last seen, and when each last went up */
  private md5Seen: { counters: Md5Counters; risenAt: number } | undefined;

  constructor(
    private readonly running: BgpRunning,
    private readonly options: BgpStateOptions = {},
  ) {}

  async status(): Promise<BgpStatus> {
    const { applied, bird } = this.running;
    const section = applied.section;
    const tcpMd5 = this.options.tcpMd5?.();
    const base: BgpStatus = {
      configured: applied.active,
      bird: { running: !!bird?.pid, ...(bird?.pid ? { pid: bird.pid } : {}), restarts: bird?.restarts ?? 0, ...(bird?.origin ? { origin: bird.origin } : {}) },
      ...(tcpMd5 ? { tcp_md5: tcpMd5 } : {}),
      neighbors: [],
    };
    if (!applied.active || !section) return base;
    const counters = await (this.options.md5Counters ?? readMd5Counters)();
    const md5Rising = this.noteMd5(counters);
    if (counters) base.md5_counters = counters;
    let live: NeighborStatus[] = [];
    if (bird?.pid) {
      try {
        live = await new BgpStatusReader(this.running.socket).neighbors();
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

  /** True while the kernel's MD5 drop counters went up within the last MD5_RECENT_MS. */
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
    return now - this.md5Seen.risenAt < MD5_RECENT_MS;
  }
}
