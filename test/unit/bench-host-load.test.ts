import { describe, expect, it } from 'vitest';
import { hostLoadBetween, hostLoadSince, markHost, parseCpuTimes, referenceLoopMs } from '../bench/host-load.js';
import { renderSvg } from '../bench/report.js';

// /proc/stat as Linux writes it: user nice system idle iowait irq softirq steal guest guest_nice
const stat = (user: number, idle: number, steal: number) => `cpu  ${user} 0 100 ${idle} 10 0 5 ${steal} 7 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 1 2 3\n`;

describe('host load during a benchmark (/proc/stat)', () => {
  it('reads the aggregate cpu line, with guest time not counted twice', () => {
    expect(parseCpuTimes(stat(1000, 5000, 300))).toEqual({ total: 1000 + 100 + 5000 + 10 + 5 + 300, idle: 5010, steal: 300 });
  });

  it('reads a kernel that writes no steal column as no steal', () => {
    expect(parseCpuTimes('cpu 10 0 5 100\n')).toEqual({ total: 115, idle: 100, steal: 0 });
  });

  it('has no reading without a cpu line', () => {
    expect(parseCpuTimes('intr 1 2 3\n')).toBeUndefined();
    expect(parseCpuTimes('cpu x y z w\n')).toBeUndefined();
  });

  it('gives the stolen and the busy share of the time between two readings, and flags a contended run', () => {
    const before = parseCpuTimes(stat(1000, 5000, 300));
    // 1000 jiffies pass: 400 working (user), 200 idle, 400 stolen
    const after = parseCpuTimes(stat(1400, 5200, 700));
    expect(hostLoadBetween(before, after)).toEqual({ cpu_steal_pct: 40, cpu_busy_pct: 40, contended: true });
    const quiet = parseCpuTimes(stat(1900, 5500, 305));
    expect(hostLoadBetween(before, quiet)).toEqual({ cpu_steal_pct: 0.4, cpu_busy_pct: 64.1, contended: false });
  });

  it('says nothing when a reading is missing or no time passed', () => {
    const reading = parseCpuTimes(stat(1000, 5000, 300));
    expect(hostLoadBetween(undefined, reading)).toBeUndefined();
    expect(hostLoadBetween(reading, reading)).toBeUndefined();
  });

  it('times the reference loop at both ends of a run, on this machine\'s own counters', () => {
    expect(referenceLoopMs()).toBeGreaterThan(0);
    const load = hostLoadSince(markHost());
    // /proc/stat exists wherever the benchmarks run (Linux); the two loops took time, so the counters moved
    expect(load).toBeDefined();
    expect(load!.reference_loop_ms).toHaveLength(2);
    expect(load!.cpu_steal_pct).toBeGreaterThanOrEqual(0);
    expect(load!.cpu_busy_pct).toBeGreaterThan(0);
  });

  it('is drawn on the chart, in red when the run was contended', () => {
    const svg = renderSvg({ bench: 'x', pass: true, date: '2026-12-02', ratio_a: 1, host: { cpu_steal_pct: 40, cpu_busy_pct: 40, contended: true } });
    expect(svg).toContain('host: 40% of the CPU time went to other guests (steal): a contended run');
    expect(svg).toMatch(/fill="#b22222">host: 40%/);
    expect(renderSvg({ bench: 'x', pass: true, ratio_a: 1 })).not.toContain('host:');
  });
});
