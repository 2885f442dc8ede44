// Tells systemd (deploy/systemd/junction.service, Type=notify) that Junction is up
// and, while its own API answers, that it is alive (the watchdog). Only
// when systemd asked for it (NOTIFY_SOCKET set); elsewhere nothing
// happens. Node has no Unix datagram sockets, so systemd's own
// `systemd-notify` sends the messages, on behalf of our pid (the unit sets
// NotifyAccess=all for that).
import { execFile } from 'node:child_process';

function send(...assignments: string[]): Promise<void> {
  return new Promise((resolve) => {
    execFile('systemd-notify', [`--pid=${process.pid}`, ...assignments], { timeout: 5_000 }, () => resolve());
  });
}

export const underSystemd = (): boolean => !!process.env.NOTIFY_SOCKET;

/**
 * READY=1 now; then WATCHDOG=1 at half of WatchdogSec while `healthy()`
 * resolves true, so a Junction whose API hangs is killed and restarted by
 * systemd. Returns the stop function (STOPPING=1).
 */
export function notifySystemd(healthy: () => Promise<boolean>): () => Promise<void> {
  if (!underSystemd()) return async () => undefined;
  void send('--ready', `--status=serving`);
  const watchdogUs = Number(process.env.WATCHDOG_USEC);
  let timer: NodeJS.Timeout | undefined;
  if (Number.isFinite(watchdogUs) && watchdogUs > 0) {
    timer = setInterval(() => {
      void healthy().then((ok) => (ok ? send('WATCHDOG=1') : undefined), () => undefined);
    }, Math.max(500, watchdogUs / 2000));
    timer.unref();
  }
  return async () => {
    clearInterval(timer);
    await send('--status=stopping', 'STOPPING=1');
  };
}
