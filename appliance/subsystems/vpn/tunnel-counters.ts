// Cumulative traffic per tunnel. charon counts per CHILD_SA, and a rekey
// replaces the SA, so its counters start again from zero; status would
// then show a tunnel's traffic going backwards every hour. Here each
// tunnel keeps a base (the final counts of its SAs that are gone) plus the
// counts of the SAs that exist: an SA's last counts move into the base when
// charon reports it rekeyed or down (the event carries its final counts), or
// when a later look no longer finds it (charon restarted, events missed).
// The state is written to a file in Junction's state directory, so the
// figures survive a Junction restart too.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

export interface Traffic {
  bytes_in: number;
  bytes_out: number;
  packets_in: number;
  packets_out: number;
}

/** One CHILD_SA's counts; `key` names it across charon restarts (unique id and inbound SPI). */
export interface SaTraffic extends Traffic {
  key: string;
}

interface TunnelRecord {
  base: Traffic;
  /** last counts of the SAs seen alive */
  live: Record<string, Traffic>;
  /** SAs already moved into the base (still listed for a moment while charon deletes them) */
  retired: string[];
}

const ZERO: Traffic = { bytes_in: 0, bytes_out: 0, packets_in: 0, packets_out: 0 };
const FIELDS = Object.keys(ZERO) as Array<keyof Traffic>;
const add = (a: Traffic, b: Traffic): Traffic => Object.fromEntries(FIELDS.map((k) => [k, a[k] + b[k]])) as unknown as Traffic;
const pick = (t: Traffic): Traffic => Object.fromEntries(FIELDS.map((k) => [k, Number(t[k]) || 0])) as unknown as Traffic;

export class TunnelCounters {
  private tunnels: Record<string, TunnelRecord> = {};
  private saved = '';

  /** @param file where the counts persist (undefined: memory only) */
  constructor(private readonly file?: string) {
    if (!file) return;
    try {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, TunnelRecord>;
      for (const [tunnel, r] of Object.entries(stored)) {
        this.tunnels[tunnel] = { base: pick(r.base ?? ZERO), live: Object.fromEntries(Object.entries(r.live ?? {}).map(([k, v]) => [k, pick(v)])), retired: (r.retired ?? []).filter((x) => typeof x === 'string') };
      }
    } catch {
      // no file yet, or unreadable: start from zero (the counts are a report, not state anything depends on)
    }
  }

  private record(tunnel: string): TunnelRecord {
    return (this.tunnels[tunnel] ??= { base: { ...ZERO }, live: {}, retired: [] });
  }

  /** An SA is gone (rekeyed or down): its final counts join the tunnel's base. */
  retire(tunnel: string, sa: SaTraffic): void {
    const r = this.record(tunnel);
    if (r.retired.includes(sa.key)) return;
    r.base = add(r.base, pick(sa));
    delete r.live[sa.key];
    r.retired.push(sa.key);
    this.save();
  }

  /** The tunnel's SAs as charon lists them now; returns the tunnel's cumulative counts. */
  observe(tunnel: string, sas: SaTraffic[]): Traffic {
    const r = this.record(tunnel);
    const present = new Set(sas.map((s) => s.key));
    for (const [key, last] of Object.entries(r.live)) {
      if (!present.has(key)) {
        r.base = add(r.base, last);
        delete r.live[key];
      }
    }
    r.retired = r.retired.filter((key) => present.has(key));
    for (const sa of sas) if (!r.retired.includes(sa.key)) r.live[sa.key] = pick(sa);
    this.save();
    return Object.values(r.live).reduce(add, r.base);
  }

  private save(): void {
    if (!this.file) return;
    const text = JSON.stringify(this.tunnels);
    if (text === this.saved) return;
    try {
      const temporary = `${this.file}.tmp`;
      writeFileSync(temporary, text, { mode: 0o600 });
      renameSync(temporary, this.file);
      this.saved = text;
    } catch {
      // the state directory is Junction's (it exists); where it cannot be written only the carry-over across restarts is lost
    }
  }
}
