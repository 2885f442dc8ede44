// Numbers for people, and rates from counters: the API gives cumulative
// byte and packet counters with the time it read them (status'
// collected_at); the dashboard turns two readings into a rate. Pure: no DOM
// (unit-tested).

const UNITS = ['', 'k', 'M', 'G', 'T'];

/** 1234567 -> "1.23 M" (SI steps of 1000, three significant digits). */
function si(value: number): string {
  let v = Math.abs(value);
  let unit = 0;
  while (v >= 1000 && unit < UNITS.length - 1) {
    v /= 1000;
    unit++;
  }
  const digits = v >= 100 || unit === 0 ? 0 : v >= 10 ? 1 : 2;
  return `${(Math.sign(value) * v).toFixed(digits)} ${UNITS[unit]}`;
}

export const formatBytes = (bytes: number | undefined): string => (bytes === undefined ? '–' : `${si(bytes)}B`);
export const formatCount = (n: number | undefined): string => (n === undefined ? '–' : si(n).trim());
/** A byte rate as network people read it: bits per second. */
export const formatBitRate = (bytesPerS: number | undefined): string => (bytesPerS === undefined ? '–' : `${si(bytesPerS * 8)}bit/s`);
export const formatPacketRate = (perS: number | undefined): string => (perS === undefined ? '–' : `${si(perS)}pkt/s`);

/** 93784 -> "1d 2h 3m" (the two or three largest parts). */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.floor(seconds));
  const parts: Array<[number, string]> = [[Math.floor(s / 86400), 'd'], [Math.floor(s / 3600) % 24, 'h'], [Math.floor(s / 60) % 60, 'm'], [s % 60, 's']];
  const first = parts.findIndex(([n]) => n > 0);
  if (first < 0) return '0s';
  return parts.slice(first, first + 3).filter(([n]) => n > 0).map(([n, u]) => `${n}${u}`).join(' ');
}

/** An ISO time as local time of day (today) or date and time. */
export function formatTime(iso: string | undefined, now = new Date()): string {
  if (!iso) return '–';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const sameDay = at.toDateString() === now.toDateString();
  return sameDay ? at.toLocaleTimeString() : at.toLocaleString();
}

export type Counters = Record<string, number | undefined>;
export type Rates = Record<string, number | undefined>;

/**
 * Per-second rates of named counters between two readings of the same
 * thing (an interface, a rule, a tunnel). A counter that went backwards
 * (reset, a new SA, a restart) has no rate until the next reading; a
 * reading with the same timestamp as the last (a cached status) keeps the
 * last rates.
 */
export class RateTracker {
  private readonly last = new Map<string, { atMs: number; counters: Counters; rates: Rates }>();

  update(key: string, atMs: number, counters: Counters): Rates {
    const previous = this.last.get(key);
    if (previous && previous.atMs === atMs) return previous.rates;
    const rates: Rates = {};
    if (previous && atMs > previous.atMs) {
      const seconds = (atMs - previous.atMs) / 1000;
      for (const [name, value] of Object.entries(counters)) {
        const before = previous.counters[name];
        if (value === undefined || before === undefined || value < before) continue;
        rates[name] = (value - before) / seconds;
      }
    }
    this.last.set(key, { atMs, counters, rates });
    return rates;
  }

  /** Forget what is gone (an interface removed, a tunnel deleted), so the map stays small. */
  keepOnly(keys: Iterable<string>, prefix: string): void {
    const keep = new Set(keys);
    for (const key of [...this.last.keys()]) if (key.startsWith(prefix) && !keep.has(key)) this.last.delete(key);
  }
}
