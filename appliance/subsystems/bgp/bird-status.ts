// Reads BGP state from BIRD replies. Rows are found by reply code (1002
// protocol row, 1006 details, 1007 route counts, 1020 BFD sessions, 0014
// totals); only the text inside a row is parsed, and that text is BIRD's
// fixed "Key: value" layout.
import { groupBy, linesOf, ReplyCode, type BirdReply } from './reply-codes.js';
import { BirdReplyError } from './reply-codes.js';
import type { BirdControl } from './bird-socket.js';
import { quoteBird } from './bird-socket.js';
import { protocolName } from './render.js';

export interface RouteCounts {
  imported: number;
  filtered: number;
  exported: number;
  preferred: number;
}

export interface ChannelStatus {
  name: string;
  state: string;
  routes: RouteCounts;
  importLimit?: { limit: number; action: string };
  /** "Import updates" row of the route change stats */
  importUpdates?: { received: number; rejected: number; filtered: number; ignored: number; accepted: number };
}

export interface BfdSession {
  protocol: string;
  address: string;
  interface: string;
  state: string;
  since: string;
  intervalS: number;
  timeoutS: number;
}

export interface ProtocolStatus {
  name: string;
  proto: string;
  table: string;
  /** BIRD's protocol state: up, down, start, stop */
  state: string;
  /** ISO 8601 (UTC) */
  since: string;
  info: string;
  /** BGP state for BGP protocols: Idle, Connect, Active, OpenSent, OpenConfirm, Established, Down */
  bgpState?: string;
  lastError?: string;
  neighborAddress?: string;
  neighborInterface?: string;
  neighborAs?: number;
  localAs?: number;
  neighborId?: string;
  sourceAddress?: string;
  holdTime?: number;
  keepaliveTime?: number;
  channels: ChannelStatus[];
  /** sums over the channels */
  routes: RouteCounts;
  bfd?: BfdSession;
}

// "iso long [ms]" as rendered; BIRD's default (time only) still parses, unconverted.
const SINCE = String.raw`(?:\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d(?:\.\d+)?`;
const PROTOCOL_ROW = new RegExp(String.raw`^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(${SINCE})\s*(.*)$`);
const BFD_ROW = new RegExp(String.raw`^(\S+)\s+(\S+)\s+(\S+)\s+(${SINCE})\s+([\d.]+)\s+([\d.]+)\s*$`);

/**
 * BIRD prints local time ("iso long ms" has no zone). It runs on this host
 * with this process's TZ, so reading the fields as local time is exact.
 */
export function birdTimeToIso(text: string): string {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return text;
  const ms = m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
  return new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], ms).toISOString();
}

const emptyCounts = (): RouteCounts => ({ imported: 0, filtered: 0, exported: 0, preferred: 0 });

/** "2 imported, 1 filtered, 0 exported, 2 preferred" (filtered only with `import keep filtered`). */
export function parseRouteCountsLine(text: string): RouteCounts {
  const counts = emptyCounts();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s+(imported|filtered|exported|preferred)\s*$/.exec(part);
    if (m) counts[m[2] as keyof RouteCounts] = Number(m[1]);
  }
  return counts;
}

/** `show protocols` or `show protocols all [...]` -> one entry per protocol. */
export function parseProtocols(reply: BirdReply): ProtocolStatus[] {
  const result: ProtocolStatus[] = [];
  for (const group of groupBy(reply, ReplyCode.protocolList)) {
    const rows = group.filter((l) => l.code === ReplyCode.protocolList).map((l) => l.text);
    const details = group.filter((l) => l.code === ReplyCode.protocolDetails).map((l) => l.text);
    // Without `all`, every continuation row is another protocol.
    rows.forEach((row, i) => {
      const status = parseProtocolRow(row);
      if (status) result.push(i === rows.length - 1 ? applyDetails(status, details) : status);
    });
  }
  return result;
}

function parseProtocolRow(row: string): ProtocolStatus | undefined {
  const m = PROTOCOL_ROW.exec(row);
  if (!m) return undefined;
  const info = m[6].trim();
  const status: ProtocolStatus = {
    name: m[1], proto: m[2], table: m[3], state: m[4], since: birdTimeToIso(m[5]), info,
    channels: [], routes: emptyCounts(),
  };
  if (m[2] === 'BGP') {
    // Info is the BGP state, then (padded) the last error if any.
    const [, bgpState, error] = /^(\S*)\s*(.*)$/.exec(info) ?? [];
    if (bgpState) status.bgpState = bgpState;
    if (error) status.lastError = error;
  }
  return status;
}

function applyDetails(status: ProtocolStatus, details: string[]): ProtocolStatus {
  let channel: ChannelStatus | undefined;
  let inLimit = false;
  for (const raw of details) {
    const line = raw.trim();
    const channelStart = /^Channel (\S+)$/.exec(line);
    if (channelStart) {
      channel = { name: channelStart[1], state: '', routes: emptyCounts() };
      status.channels.push(channel);
      continue;
    }
    const kv = /^([A-Za-z][A-Za-z0-9 -]*?):\s*(.*)$/.exec(line);
    if (!kv) continue;
    const [, key, value] = kv;
    if (!channel) {
      switch (key) {
        case 'BGP state': status.bgpState = value; break;
        case 'Neighbor address': {
          // With `interface` set BIRD prints "addr%iface".
          const [address, iface] = value.split('%');
          status.neighborAddress = address;
          if (iface) status.neighborInterface = iface;
          break;
        }
        case 'Neighbor AS': status.neighborAs = Number(value); break;
        case 'Local AS': status.localAs = Number(value); break;
        case 'Neighbor ID': status.neighborId = value; break;
        case 'Source address': status.sourceAddress = value; break;
        case 'Last error': status.lastError = value; break;
        case 'Hold timer': status.holdTime = Number(value.split('/')[1]); break;
        case 'Keepalive timer': status.keepaliveTime = Number(value.split('/')[1]); break;
      }
      continue;
    }
    switch (key) {
      case 'State': channel.state = value; break;
      case 'Routes': channel.routes = parseRouteCountsLine(value); break;
      case 'Import limit': channel.importLimit = { limit: Number(value), action: '' }; inLimit = true; continue;
      case 'Action': if (inLimit && channel.importLimit) channel.importLimit.action = value; break;
      case 'Import updates': {
        const [received, rejected, filtered, ignored, accepted] = value.trim().split(/\s+/).map(Number);
        channel.importUpdates = { received, rejected, filtered, ignored, accepted };
        break;
      }
    }
    inLimit = false;
  }
  for (const c of status.channels) {
    for (const k of Object.keys(status.routes) as Array<keyof RouteCounts>) status.routes[k] += c.routes[k];
  }
  return status;
}

export interface TableRouteCount {
  table: string;
  /** routes matching the query */
  matched: number;
  routes: number;
  networks: number;
}

/** `show route [...] count`: 1007 rows per table, and a 0014 total when several. */
export function parseRouteCount(reply: BirdReply): { tables: TableRouteCount[]; matched: number } {
  const tables: TableRouteCount[] = [];
  for (const text of linesOf(reply, ReplyCode.routeList)) {
    const m = /^(\d+) of (\d+) routes for (\d+) networks in table (\S+)$/.exec(text.trim());
    if (m) tables.push({ table: m[4], matched: +m[1], routes: +m[2], networks: +m[3] });
  }
  return { tables, matched: tables.reduce((s, t) => s + t.matched, 0) };
}

/** `show bfd sessions`: a 1020 block per BFD protocol ("bfd1:", a header, rows). */
export function parseBfdSessions(reply: BirdReply): BfdSession[] {
  const sessions: BfdSession[] = [];
  let protocol = '';
  for (const text of linesOf(reply, ReplyCode.bfdSessions)) {
    const header = /^(\S+):$/.exec(text.trim());
    if (header) { protocol = header[1]; continue; }
    const m = BFD_ROW.exec(text.trim());
    if (m) {
      sessions.push({
        protocol, address: m[1], interface: m[2], state: m[3], since: birdTimeToIso(m[4]),
        intervalS: Number(m[5]), timeoutS: Number(m[6]),
      });
    }
  }
  return sessions;
}

export interface NeighborStatus extends ProtocolStatus {
  /** the Junction neighbor id */
  id: string;
  established: boolean;
}

/** Reads per-neighbor status over the control socket. */
export class BgpStatusReader {
  constructor(private readonly bird: BirdControl) {}

  async neighbor(id: string): Promise<NeighborStatus | undefined> {
    const name = protocolName(id);
    let reply: BirdReply;
    try {
      reply = await this.bird.command(`show protocols all ${quoteBird(name)}`);
    } catch (e) {
      if (e instanceof BirdReplyError && e.code === ReplyCode.noProtocolsMatch) return undefined;
      throw e;
    }
    const status = parseProtocols(reply).find((p) => p.name === name);
    if (!status) return undefined;
    return this.withBfd([toNeighbor(id, status)]).then((list) => list[0]);
  }

  /** Every BGP protocol Junction rendered (named bgp_<id>). */
  async neighbors(): Promise<NeighborStatus[]> {
    const all = parseProtocols(await this.bird.command('show protocols all'));
    const bgp = all.filter((p) => p.proto === 'BGP' && p.name.startsWith('bgp_'));
    return this.withBfd(bgp.map((p) => toNeighbor(p.name.slice('bgp_'.length), p)));
  }

  /** `show route [protocol 'bgp_<id>'] [filtered] count` */
  async routeCount(options: { neighborId?: string; filtered?: boolean } = {}): Promise<{ tables: TableRouteCount[]; matched: number }> {
    // `protocol` takes a symbol, not a pattern: quote it as a symbol ('...').
    const parts = ['show route', ...(options.filtered ? ['filtered'] : []), ...(options.neighborId ? [`protocol '${protocolName(options.neighborId)}'`] : []), 'count'];
    return parseRouteCount(await this.bird.command(parts.join(' ')));
  }

  async bfdSessions(): Promise<BfdSession[]> {
    try {
      return parseBfdSessions(await this.bird.command('show bfd sessions'));
    } catch (e) {
      if (e instanceof BirdReplyError) return []; // no BFD protocol configured
      throw e;
    }
  }

  private async withBfd(list: NeighborStatus[]): Promise<NeighborStatus[]> {
    if (!list.length) return list;
    const sessions = await this.bfdSessions();
    for (const n of list) {
      const s = sessions.find((x) => x.address === n.neighborAddress);
      if (s) n.bfd = s;
    }
    return list;
  }
}

function toNeighbor(id: string, p: ProtocolStatus): NeighborStatus {
  return { ...p, id, established: p.bgpState === 'Established' };
}
