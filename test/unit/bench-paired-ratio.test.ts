import { describe, expect, it } from 'vitest';
import { pairedRatio } from '../bench/report.js';

describe('pairedRatio (benchmarks)', () => {
  it('is the geometric mean of the paired ratios, with an interval around it', () => {
    const r = pairedRatio([[110, 100], [90, 100], [200, 200], [330, 300]]);
    expect(r.n).toBe(4);
    expect(r.geomean).toBeCloseTo(Math.pow(1.1 * 0.9 * 1 * 1.1, 1 / 4), 10);
    expect(r.median).toBeCloseTo(1.05, 10);
    expect(r.ci95![0]).toBeLessThan(r.geomean);
    expect(r.ci95![1]).toBeGreaterThan(r.geomean);
  });

  it('cancels a drift that hits both sides of a pair alike', () => {
    // the machine halves its speed half way through; the subject is always 5 % faster
    const pairs: Array<[number, number]> = [100, 100, 100, 50, 50, 50].map((base) => [base * 1.05, base]);
    const r = pairedRatio(pairs);
    expect(r.geomean).toBeCloseTo(1.05, 10);
    expect(r.ci95![0]).toBeCloseTo(1.05, 10);
    expect(r.ci95![1]).toBeCloseTo(1.05, 10);
  });

  it('has no interval for one pair and ignores non-positive runs', () => {
    expect(pairedRatio([[120, 100]]).ci95).toBeNull();
    expect(pairedRatio([[120, 100], [0, 100]]).n).toBe(1);
    expect(pairedRatio([]).n).toBe(0);
  });
});
