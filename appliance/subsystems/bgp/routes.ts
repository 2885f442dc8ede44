// Learned routes from `show route [...] all`, read by reply code: 1007 rows
// are routes ("NET  unicast [PROTO SINCE] * (PREF) [ASPATH ORIGIN]", an
// indented row for each further path to the same net, "\tvia ADDR on IF"
// for next hops), 1008 the route type and 1012 the attributes
// ("\tBGP.as_path: 65000"). The query is built from checked values only.
import { parsePrefix, networkOf } from '../../model/ip.js';
import { ReplyCode, type BirdReply } from './reply-codes.js';
import { protocolName } from './render.js';
import { birdTimeToIso } from './bird-status.js';

export interface LearnedRoute {
  prefix: string;
  /** the Junction neighbor id (from the BIRD protocol name bgp_<id>) */
  neighbor?: string;
  protocol: string;
  since: string;
  /** BIRD's best path for this prefix */
  primary: boolean;
  preference: number;
  next_hops: Array<{ address?: string; interface?: string }>;
  as_path?: number[];
  origin?: string;
  local_pref?: number;
  med?: number;
  /** true when the import filter rejected it (kept by `import keep filtered`) */
  filtered: boolean;
}

export interface RouteQuery {
  /** routes inside this prefix (and the prefix itself) */
  prefix?: string;
  neighbor?: string;
  /** the routes the import filter rejected */
  filtered?: boolean;
}

/** The `show route` command for a query; throws RangeError for a bad prefix or neighbor id. */
export function routeCommand(query: RouteQuery): string {
  const parts = ['show route'];
  if (query.filtered) parts.push('filtered');
  if (query.neighbor !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/.test(query.neighbor)) throw new RangeError(`not a neighbor id: ${query.neighbor}`);
    parts.push(`protocol '${protocolName(query.neighbor)}'`);
  }
  const conditions = ['source = RTS_BGP'];
  if (query.prefix !== undefined) {
    const net = parsePrefix(query.prefix) && query.prefix.includes('/') ? networkOf(query.prefix) : undefined;
    if (!net) throw new RangeError(`not a prefix: ${query.prefix}`);
    conditions.push(`net ~ [ ${net}+ ]`);
  }
  parts.push(`where ${conditions.join(' && ')}`, 'all');
  return parts.join(' ');
}

const ROUTE_ROW = /^(\S+)?\s+(?:unicast|blackhole|unreachable|prohibited)\s+\[(\S+) ([^\]]+?)\]\s*(\*)?\s*\((\d+)\)(?:\s*\[([^\]]*)\])?/;

export function parseRoutes(reply: BirdReply, options: { filtered?: boolean } = {}): LearnedRoute[] {
  const routes: LearnedRoute[] = [];
  let net = '';
  let current: LearnedRoute | undefined;
  for (const { code, text } of reply.lines) {
    if (code === ReplyCode.routeList) {
      if (/^Table \S+:$/.test(text.trim())) continue;
      const via = /^\s*via (\S+)(?: on (\S+))?/.exec(text);
      if (via && current) {
        current.next_hops.push({ address: via[1], ...(via[2] ? { interface: via[2] } : {}) });
        continue;
      }
      const dev = /^\s*dev (\S+)/.exec(text);
      if (dev && current) {
        current.next_hops.push({ interface: dev[1] });
        continue;
      }
      const m = ROUTE_ROW.exec(text);
      if (!m) continue;
      if (m[1]) net = m[1];
      const protocol = m[2];
      current = {
        prefix: net,
        ...(protocol.startsWith('bgp_') ? { neighbor: protocol.slice(4) } : {}),
        protocol,
        since: birdTimeToIso(m[3]),
        primary: m[4] === '*',
        preference: Number(m[5]),
        next_hops: [],
        filtered: options.filtered ?? false,
      };
      routes.push(current);
      continue;
    }
    if (code === 1012 && current) {
      const attr = /^\s*BGP\.(\w+): (.*)$/.exec(text);
      if (!attr) continue;
      const value = attr[2].trim();
      switch (attr[1]) {
        case 'as_path': current.as_path = value ? value.split(/\s+/).filter((x) => /^\d+$/.test(x)).map(Number) : []; break;
        case 'origin': current.origin = value; break;
        case 'local_pref': current.local_pref = Number(value); break;
        case 'med': current.med = Number(value); break;
      }
    }
  }
  return routes;
}
