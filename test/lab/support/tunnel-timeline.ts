// What a tunnel's status said during an outage, held against what really
// happened: a steady ping (`ping -D -O -i 0.1`) through the tunnel is the
// ground truth of when replies came back, and status samples taken meanwhile
// say `up`, `stalled` or `down`. The VPN lab tests use it to measure an
// outage and to assert that status never said `up` while nothing had come
// back for longer than the stall threshold (plus the one second granularity
// of charon's packet ages).
import { STALLED_AFTER_S } from '../../../appliance/subsystems/vpn/status.js';

export interface StatusSample {
  /** Unix ms, taken just before status was asked */
  at: number;
  /** Unix ms, taken just after the answer came: status read the kernel somewhere in [at, done] */
  done?: number;
  state: string;
  last_in_s?: number;
  last_out_s?: number;
  probes: number;
  /** seconds since the tunnel's youngest installed SA was negotiated (undefined: none) */
  sa_age_s?: number;
}

/** Unix ms of every reply in `ping -D` output (lines "[1733.123] 64 bytes from ..."). */
export function replyTimes(pingOutput: string): number[] {
  return [...pingOutput.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from /gm)].map((m) => Math.round(Number(m[1]) * 1000));
}

/** Silence allowed before `up` is a lie: the stall threshold plus charon's whole-second packet ages. */
export const UP_SILENCE_LIMIT_MS = (STALLED_AFTER_S + 1) * 1000;

/**
 * Seconds of silence a sample's answer may be held to: from the last reply
 * before the answer came (`done`) to when it was asked (`at`), never below 0.
 * Status reads the kernel somewhere in between, so a reply that came while it
 * was being asked may be the very traffic it reports (undefined before the
 * first reply).
 */
function silenceAt(replies: number[], s: Pick<StatusSample, 'at' | 'done'>): number | undefined {
  const last = replies.filter((r) => r <= (s.done ?? s.at)).at(-1);
  return last === undefined ? undefined : Math.max(0, s.at - last) / 1000;
}

/**
 * The samples that said `up` while the ping was running and no reply had come
 * back for longer than `limitMs` (default UP_SILENCE_LIMIT_MS: then empty
 * means status told the truth). `until`: when the ping stopped sending (later
 * samples may say `up` while idle). An SA negotiated within the limit is an
 * answer from the peer itself: `up` then is the truth until it has had time
 * to carry traffic.
 */
export function upWhileSilent(samples: StatusSample[], replies: number[], until: number, limitMs = UP_SILENCE_LIMIT_MS): Array<StatusSample & { silent_s: number }> {
  return samples
    .filter((s) => s.at <= until && s.state === 'up' && !(s.sa_age_s !== undefined && s.sa_age_s * 1000 <= limitMs))
    .map((s) => ({ ...s, silent_s: silenceAt(replies, s) ?? 0 }))
    .filter((s) => s.silent_s * 1000 > limitMs);
}

/** The longest gap between replies (s) from `from` on: the outage the ping saw. */
export function longestSilence(replies: number[], from: number): number {
  let longest = 0;
  let previous = Math.max(from, replies.filter((r) => r <= from).at(-1) ?? from);
  for (const r of replies.filter((x) => x > from)) {
    longest = Math.max(longest, r - previous);
    previous = r;
  }
  return longest / 1000;
}

/** How long status said `up` while replies had stopped (more than two ping intervals), summed over the samples (s): for the report. */
export function upSilentSeconds(samples: StatusSample[], replies: number[], until: number): number {
  const flagged = new Set(upWhileSilent(samples, replies, until, 300).map((s) => s.at));
  let total = 0;
  for (let i = 1; i < samples.length; i++) if (flagged.has(samples[i - 1]!.at)) total += samples[i]!.at - samples[i - 1]!.at;
  return total / 1000;
}
