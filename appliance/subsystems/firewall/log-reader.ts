// Firewall logging: rules that log send packets to NFLOG (see rules/
// nft-json.ts LOG_GROUP); a supervised ulogd2 writes them as JSON lines
// to the state directory, and the API reads them back. ulogd outlives
// Junction like the other daemons: a new Junction adopts the one an
// earlier Junction left when it reads the ulogd.conf this one would write.
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Supervisor } from '../../platform/supervisor.js';
import type { Config } from '../../model/schema.js';
import type { Logger } from '../../platform/log.js';
import { LOG_GROUP } from '../../../rules/index.js';

export const PLUGIN_DIR = '/usr/lib/x86_64-linux-gnu/ulogd';
/** The log file is rotated once it grows past this, keeping one old file. */
const MAX_LOG_BYTES = 16 * 1024 * 1024;

export interface FirewallLogEntry {
  /** ISO 8601 with its offset ("...Z" or "+01:00"); as ulogd wrote it when it is not a timestamp */
  time: string;
  /** the nft log prefix: "<policy>:<rule id>" unless the rule set its own */
  prefix: string;
  policy?: string;
  rule?: string;
  in?: string;
  out?: string;
  src?: string;
  dst?: string;
  protocol?: number;
  sport?: number;
  dport?: number;
  length?: number;
}

/** True when any rule or policy default asks for logging. */
export function loggingWanted(config: Config): boolean {
  return (config.firewall?.policies ?? []).some((p) => p.log_default || p.rules.some((r) => r.log && r.enabled !== false));
}

function ulogdConf(logFile: string, file: string): string {
  return `# Written by Junction: NFLOG group ${LOG_GROUP} -> JSON lines.
[global]
logfile="${logFile}"
loglevel=5
plugin="${PLUGIN_DIR}/ulogd_inppkt_NFLOG.so"
plugin="${PLUGIN_DIR}/ulogd_raw2packet_BASE.so"
plugin="${PLUGIN_DIR}/ulogd_filter_IFINDEX.so"
plugin="${PLUGIN_DIR}/ulogd_filter_IP2STR.so"
plugin="${PLUGIN_DIR}/ulogd_output_JSON.so"
stack=log1:NFLOG,base1:BASE,ifi1:IFINDEX,ip2str1:IP2STR,json1:JSON

[log1]
group=${LOG_GROUP}

[json1]
file="${file}"
sync=1
`;
}

/**
 * ulogd's JSON timestamp as ISO 8601 with an offset. ulogd 2.0.8 writes
 * local time and appends "+hhmm" only when the offset is not zero, so a
 * timestamp without one is UTC (and the reader runs with TZ=UTC anyway).
 */
export function isoTimestamp(text: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)(Z|[+-]\d\d:?\d\d)?$/.exec(text);
  if (!m) return text;
  const [, local, offset] = m;
  if (!offset || offset === 'Z' || /^[+-]00:?00$/.test(offset)) return `${local}Z`;
  return `${local}${offset.slice(0, 3)}:${offset.slice(-2)}`;
}

export function parseLogLine(line: string): FirewallLogEntry | undefined {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const prefix = String(raw['oob.prefix'] ?? '').trim();
  const [policy, rule] = prefix.includes(':') ? prefix.split(':', 2) : [undefined, undefined];
  const num = (key: string) => (typeof raw[key] === 'number' ? (raw[key] as number) : undefined);
  const str = (key: string) => (typeof raw[key] === 'string' && raw[key] !== '' ? (raw[key] as string) : undefined);
  const entry: FirewallLogEntry = {
    time: isoTimestamp(String(raw.timestamp ?? '')),
    prefix,
    ...(policy ? { policy } : {}),
    ...(rule ? { rule } : {}),
    ...(str('oob.in') ? { in: str('oob.in') } : {}),
    ...(str('oob.out') ? { out: str('oob.out') } : {}),
    ...(str('src_ip') ? { src: str('src_ip') } : {}),
    ...(str('dest_ip') ? { dst: str('dest_ip') } : {}),
    ...(num('ip.protocol') !== undefined ? { protocol: num('ip.protocol') } : {}),
    // ulogd's JSON output names transport ports src_port/dest_port.
    ...(num('src_port') !== undefined ? { sport: num('src_port') } : {}),
    ...(num('dest_port') !== undefined ? { dport: num('dest_port') } : {}),
    ...(num('raw.pktlen') !== undefined ? { length: num('raw.pktlen') } : {}),
  };
  return entry;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export class FirewallLog {
  private reader: Supervisor | undefined;
  private readonly dir: string;
  readonly file: string;

  constructor(stateDir: string, private readonly log: Logger) {
    this.dir = join(stateDir, 'firewall-log');
    this.file = join(this.dir, 'packets.json');
  }

  get running(): boolean {
    return this.reader?.running ?? false;
  }

  /** restarts after a crash since this reader was started (GET /metrics) */
  get restarts(): number {
    return this.reader?.restarts ?? 0;
  }

  drift(wanted: boolean): string[] {
    if (wanted && !this.running) return ['firewall log reader (ulogd) is not running'];
    if (!wanted && this.running) return ['firewall log reader runs but no rule logs'];
    return [];
  }

  /** Starts or stops the reader (adopting one an earlier Junction left running); returns what it did. */
  async ensure(wanted: boolean): Promise<string[]> {
    if (!wanted) {
      if (!this.reader) return [];
      await this.reader.stop();
      this.reader = undefined;
      return ['stop firewall log reader'];
    }
    if (this.running) return [];
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const conf = join(this.dir, 'ulogd.conf');
    const logFile = join(this.dir, 'ulogd.log');
    const text = ulogdConf(logFile, this.file);
    await this.reader?.stop();
    this.reader = new Supervisor({
      name: 'ulogd',
      program: 'ulogd',
      args: ['-c', conf],
      // ulogd stamps packets in local time; in UTC its timestamps need no guessing
      env: { ...process.env, TZ: 'UTC' },
      pidFile: { path: join(this.dir, 'ulogd.pid'), marker: conf },
      // its stdout/stderr too: it keeps running after Junction exits
      logFile,
      onLog: (line) => this.log.debug('ulogd', { line }),
    });
    const adopted = await this.reader.adopt(async () => (readText(conf) === text ? undefined : 'its ulogd.conf differs from the rendering'));
    if (adopted !== undefined) {
      this.log.info('firewall: adopted the log reader an earlier Junction left running', { pid: adopted });
      return [];
    }
    writeFileSync(conf, text, { mode: 0o600 });
    await this.reader.start();
    return ['start firewall log reader (ulogd, NFLOG group ' + LOG_GROUP + ')'];
  }

  /** Junction's clean stop: ulogd keeps reading for the next Junction to adopt. */
  detach(): void {
    this.reader?.detach();
    this.reader = undefined;
  }

  /** The newest entries first, optionally only one policy's or rule's. */
  recent(limit = 100, filter: { policy?: string; rule?: string } = {}): FirewallLogEntry[] {
    this.rotateIfLarge();
    if (!existsSync(this.file)) return [];
    const lines = readFileSync(this.file, 'utf8').split('\n');
    const out: FirewallLogEntry[] = [];
    for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
      const entry = lines[i] ? parseLogLine(lines[i]) : undefined;
      if (!entry) continue;
      if (filter.policy && entry.policy !== filter.policy) continue;
      if (filter.rule && entry.rule !== filter.rule) continue;
      out.push(entry);
    }
    return out;
  }

  private rotateIfLarge(): void {
    try {
      if (statSync(this.file).size < MAX_LOG_BYTES) return;
      renameSync(this.file, `${this.file}.1`);
      // ulogd reopens its output files on SIGHUP.
      if (this.reader?.pid) process.kill(this.reader.pid, 'SIGHUP');
    } catch {
      /* no file yet */
    }
  }

  async stop(): Promise<void> {
    await this.ensure(false);
  }
}
