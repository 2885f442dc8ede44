// Renders the strongswan.conf Junction's own charon reads (via
// STRONGSWAN_CONF). Plugins are listed explicitly: the Debian default list
// pulls in plugins such as `ha` that fail to start, and we want to know
// exactly what runs.
import path from 'node:path';
import type { Dataplane } from './dataplane.js';

/** Crypto and credentials every charon of ours needs. kdf: Debian's openssl plugin lacks KDF_PRF(+), without it IKE key derivation fails. */
export const BASE_PLUGINS = ['random', 'nonce', 'openssl', 'kdf', 'x509', 'pubkey', 'pkcs1', 'pkcs8', 'pem', 'constraints', 'revocation'];

/**
 * kernel-libipsec must come before kernel-netlink: the first IPsec backend
 * loaded wins, and kernel-netlink still provides routes and addresses.
 */
export function dataplanePlugins(dataplane: Dataplane): string[] {
  return dataplane === 'libipsec' ? ['kernel-libipsec', 'kernel-netlink'] : ['kernel-netlink'];
}

export const TRANSPORT_PLUGINS = ['socket-default', 'vici'];

/** Log levels above 3 make charon log keying material; we never go there. */
export const MAX_SAFE_LOGLEVEL = 3;

export interface CharonSettings {
  stateDir: string;
  dataplane: Dataplane;
  /**
   * Worker threads. libipsec, kernel-netlink and the sockets each park
   * threads in blocking reads (9 of 16 measured busy while idle), so too few
   * threads leave none for VICI and the daemon stops answering.
   */
  threads?: number;
  /** Default log level for all subsystems, capped at MAX_SAFE_LOGLEVEL. */
  loglevel?: number;
  /** Run the updown plugin (scripts on SA up/down); off by default. */
  updown?: boolean;
  libipsec?: {
    /** Let the peer narrow traffic selectors to ones not in our policy (kernel-libipsec allow_peer_ts). */
    allowPeerTs?: boolean;
  };
  /** Routing table for the routes charon installs (libipsec routes point at its TUN device). */
  routingTable?: number;
  routingTablePriority?: number;
  /** Let charon install routes to remote subnets (libipsec: into its TUN device; default yes). */
  installRoutes?: boolean;
  /**
   * IKE retransmission: how fast an unanswered request (e.g. a DPD to a
   * peer that died) gives up. charon's defaults (5 tries, 4 s, base 1.8)
   * take about 165 s; Junction's defaults about 16 s.
   */
  retransmit?: { tries: number; timeoutS: number; base: number };
  /** IKE ports, for running several charons in one namespace. */
  ports?: { ike: number; natT: number };
}

export const DEFAULT_THREADS = 16;
export const MIN_THREADS = 12;

export function charonPaths(stateDir: string): { conf: string; socket: string; log: string } {
  return {
    conf: path.join(stateDir, 'strongswan.conf'),
    socket: path.join(stateDir, 'charon.vici'),
    log: path.join(stateDir, 'charon.log'),
  };
}

export function charonPlugins(settings: Pick<CharonSettings, 'dataplane' | 'updown'>): string[] {
  return [...BASE_PLUGINS, ...dataplanePlugins(settings.dataplane), ...TRANSPORT_PLUGINS, ...(settings.updown ? ['updown'] : [])];
}

const quote = (value: string): string => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const yesNo = (value: boolean): string => (value ? 'yes' : 'no');

export function renderStrongswanConf(settings: CharonSettings): string {
  const paths = charonPaths(settings.stateDir);
  const threads = settings.threads ?? DEFAULT_THREADS;
  if (!Number.isInteger(threads) || threads < MIN_THREADS) throw new RangeError(`charon threads must be an integer >= ${MIN_THREADS}, got ${threads}`);
  const loglevel = Math.min(Math.max(settings.loglevel ?? 1, -1), MAX_SAFE_LOGLEVEL);
  const lines = [
    '# Written by Junction; edits are overwritten.',
    'charon {',
    '  load_modular = no',
    `  load = ${charonPlugins(settings).join(' ')}`,
    `  threads = ${threads}`,
    `  install_routes = ${yesNo(settings.installRoutes ?? true)}`,
    ...(settings.retransmit
      ? [`  retransmit_tries = ${settings.retransmit.tries}`, `  retransmit_timeout = ${settings.retransmit.timeoutS}`, `  retransmit_base = ${settings.retransmit.base}`]
      : []),
    ...(settings.routingTable !== undefined ? [`  routing_table = ${settings.routingTable}`] : []),
    ...(settings.routingTablePriority !== undefined ? [`  routing_table_prio = ${settings.routingTablePriority}`] : []),
    ...(settings.ports ? [`  port = ${settings.ports.ike}`, `  port_nat_t = ${settings.ports.natT}`] : []),
    '  filelog {',
    '    junction {',
    `      path = ${quote(paths.log)}`,
    '      time_format = %Y-%m-%dT%H:%M:%S',
    '      ike_name = yes',
    `      default = ${loglevel}`,
    '      append = yes',
    '      flush_line = yes',
    '    }',
    '  }',
    '  syslog {',
    '    daemon {',
    '      default = -1',
    '    }',
    '  }',
    '  plugins {',
    '    vici {',
    `      socket = ${quote(`unix://${paths.socket}`)}`,
    '    }',
    ...(settings.dataplane === 'libipsec'
      ? ['    kernel-libipsec {', `      allow_peer_ts = ${yesNo(settings.libipsec?.allowPeerTs ?? false)}`, '    }']
      : []),
    '  }',
    '}',
    '',
  ];
  return lines.join('\n');
}
