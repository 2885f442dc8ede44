// Which state directory a client command talks to when no --state-dir is
// given: the appliance's default, or the namespace lab's when exactly one
// lab runs (so `junction status` works in the lab without flags). It only
// guesses between sockets that answer, and says on stderr what it chose.
import { connect } from 'node:net';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_STATE_DIR = '/var/lib/junction';
/** the lab kit keeps each lab's state in `<root>/<prefix>` */
export const LAB_STATE_ROOT = '/var/lib/junction-lab';

export type StateDirChoice =
  | { stateDir: string; note?: string }
  | { ambiguous: string[] };

/** True when something accepts connections on the Unix socket (a stale file does not). */
export function socketIsLive(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (live: boolean) => {
      socket.destroy();
      resolve(live);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function labStateDirs(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(root, e.name)).sort();
  } catch {
    return [];
  }
}

/**
 * The default state dir unless its API is down and exactly one lab's is up.
 * Several live APIs (labs, or a lab beside the appliance itself) are
 * ambiguous: the caller must ask for --state-dir.
 */
export async function chooseStateDir(options: { defaultDir?: string; labRoot?: string } = {}): Promise<StateDirChoice> {
  const defaultDir = options.defaultDir ?? DEFAULT_STATE_DIR;
  const candidates = [defaultDir, ...labStateDirs(options.labRoot ?? LAB_STATE_ROOT)];
  const live = (await Promise.all(candidates.map(async (dir) => ((await socketIsLive(join(dir, 'api.sock'))) ? dir : undefined)))).filter(
    (dir): dir is string => dir !== undefined,
  );
  if (live.length > 1) return { ambiguous: live };
  if (live.length === 0 || live[0] === defaultDir) return { stateDir: defaultDir };
  return { stateDir: live[0], note: `using ${live[0]} (the only running lab; nothing answers in ${defaultDir}); give --state-dir to choose` };
}
