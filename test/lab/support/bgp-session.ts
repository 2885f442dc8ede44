// "Did this BGP session flap?" from bird's `since`. bird prints it as the
// wall clock now minus the state's age, so two queries of one unchanged
// session differ by a few milliseconds: equality is flaky. A flap moves it
// to the re-establishment, which is later than the old value by at least the
// session's age when the flap began; once a session is older than the jitter
// bound, a flap moves `since` by more than the bound, so the bound proves
// as much as equality did.
import { expect } from 'vitest';
import { sleep } from '../../../appliance/platform/sleep.js';

/** how far two readings of one unchanged session may differ (observed: a few ms) */
export const SINCE_JITTER_MS = 1000;

interface Session {
  since?: string;
}

const sinceMs = (s: Session) => Date.parse(s.since ?? '');

/** The same session: `since` moved by less than bird's recomputation jitter. */
export function sameSession(a: Session, b: Session): boolean {
  return Math.abs(sinceMs(a) - sinceMs(b)) < SINCE_JITTER_MS;
}

/** Waits until the session is older than the bound, so any flap from now on is told apart. */
export async function agePastJitter(s: Session): Promise<void> {
  const age = Date.now() - sinceMs(s);
  if (age <= SINCE_JITTER_MS) await sleep(SINCE_JITTER_MS + 100 - age);
}

export function expectSameSession(after: Session, before: Session, what = 'session'): void {
  expect(Number.isNaN(sinceMs(after)) || Number.isNaN(sinceMs(before)), `${what}: since ${before.since} -> ${after.since}`).toBe(false);
  expect(Math.abs(sinceMs(after) - sinceMs(before)), `${what} flapped: since ${before.since} -> ${after.since}`).toBeLessThan(SINCE_JITTER_MS);
}

export function expectNewSession(after: Session, before: Session, what = 'session'): void {
  expect(sinceMs(after) - sinceMs(before), `${what} was not re-established: since ${before.since} -> ${after.since}`).toBeGreaterThanOrEqual(SINCE_JITTER_MS);
}
