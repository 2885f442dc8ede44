// What every lab benchmark needs around its runs: labs torn down (twice if
// the first try fails) and leftovers removed by prefix, also on SIGINT,
// SIGTERM and a watchdog, so a benchmark never leaves the machine dirty.
import { Lab } from '../lab-kit/lab.js';

export async function tearDownLabs(labs: Lab[], prefixes: string[], log: (line: string) => void): Promise<void> {
  for (const lab of labs) {
    await lab.down().catch(async (error: unknown) => {
      log(`teardown of ${lab.prefix} failed once (${(error as Error).message}); retrying`);
      await lab.down().catch((e: unknown) => log(`teardown of ${lab.prefix} failed: ${(e as Error).message}`));
    });
  }
  // labs that failed half-way in Lab.up clean up after themselves; leftovers by prefix:
  for (const prefix of prefixes) await Lab.cleanupStale(prefix).catch(() => undefined);
}

/** Runs `cleanup` on SIGINT/SIGTERM (then exits 130/143) or when the watchdog fires (exit 1). */
export function guardBenchmark(cleanup: () => Promise<void>, log: (line: string) => void, watchdogMs: number): { release(): void } {
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: taking the labs down`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const watchdog = setTimeout(() => {
    log(`still running after ${watchdogMs / 60_000} min: giving up`);
    void cleanup().finally(() => process.exit(1));
  }, watchdogMs);
  return {
    release: () => {
      clearTimeout(watchdog);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
