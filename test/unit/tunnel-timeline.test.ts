import { describe, expect, it } from 'vitest';
import { upWhileSilent, UP_SILENCE_LIMIT_MS } from '../lab/support/tunnel-timeline.js';

// The lab's judge of "status said up while nothing came back" must itself be right.
describe('tunnel timeline (lab support)', () => {
  const replies = [1_000, 1_100, 1_200];
  const silentFor = UP_SILENCE_LIMIT_MS + 1_000;

  it('flags `up` asked and answered after the replies had stopped for longer than the limit', () => {
    const at = 1_200 + silentFor;
    expect(upWhileSilent([{ at, done: at + 200, state: 'up', probes: 0 }], replies, 100_000)).toEqual([
      { at, done: at + 200, state: 'up', probes: 0, silent_s: silentFor / 1000 },
    ]);
  });

  it('does not flag `up` when a reply came while status was being asked (it may be the traffic status saw)', () => {
    const at = 1_200 + silentFor;
    expect(upWhileSilent([{ at, done: at + 300, state: 'up', probes: 0 }], [...replies, at + 150], 100_000)).toEqual([]);
  });

  it('does not flag stalled or down, samples after the ping stopped, or an SA younger than the limit', () => {
    const at = 1_200 + silentFor;
    const samples = [
      { at, state: 'stalled', probes: 0 },
      { at, state: 'down', probes: 0 },
      { at, state: 'up', probes: 0, sa_age_s: 1 },
      { at: at + 50_000, state: 'up', probes: 0 },
    ];
    expect(upWhileSilent(samples, replies, at + 1_000)).toEqual([]);
  });
});
