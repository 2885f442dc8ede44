// Runs the real `junction serve` (the built dist/) inside a lab's router
// namespace and talks to it over its Unix socket, as the CLI does.
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab, LabProcess } from '../../lab-kit/lab.js';
import { apiRequest, targetFromStateDir, type ApiResponse } from '../../../appliance/main/api-client.js';
import { waitForApi } from '../../lab-kit/command.js';
import { SERVE_NODE_FLAGS } from '../../../appliance/main/node-flags.js';

const CLI = fileURLToPath(new URL('../../../dist/appliance/cli.js', import.meta.url));

export interface RunningJunction {
  stateDir: string;
  process: LabProcess;
  api<T = any>(method: string, path: string, body?: unknown, options?: { contentType?: string; token?: string | null }): Promise<ApiResponse<T>>;
  stop(): Promise<void>;
}

/** ownUts: in a UTS namespace of its own (`unshare --uts`), where Junction may set the hostname, as the lab kit runs it */
/** listen: HOST:PORT (default 127.0.0.1:8080); args: more `serve` options */
export async function startJunction(lab: Lab, options: { stateDir?: string; env?: Record<string, string>; ownUts?: boolean; listen?: string; args?: string[] } = {}): Promise<RunningJunction> {
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'junction-test-'));
  const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
  const child = lab.spawn('router', [...(options.ownUts ? ['unshare', '--uts'] : []), 'env', ...env, process.execPath, ...SERVE_NODE_FLAGS, CLI, 'serve', '--state-dir', stateDir, '--listen', options.listen ?? '127.0.0.1:8080', ...(options.args ?? [])], {
    logFile: join(stateDir, 'junction.log'),
  });
  await waitForApi(stateDir);
  const target = targetFromStateDir(stateDir);
  return {
    stateDir,
    process: child,
    api: (method, path, body, opts = {}) =>
      apiRequest({ ...target, token: opts.token === null ? undefined : (opts.token ?? target.token) }, method, path, body, { contentType: opts.contentType }),
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([child.exited, new Promise((r) => setTimeout(r, 5000))]);
      child.kill('SIGKILL');
    },
  };
}

/** An nft wrapper that fails every real apply (`nft -j -f`, not `-c`) while a flag file exists. */
export function faultyNft(): { wrapper: string; flag: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'junction-fault-'));
  const wrapper = join(dir, 'nft');
  const flag = join(dir, 'fail-apply');
  writeFileSync(
    wrapper,
    `#!/bin/sh
# injected fault: refuse the apply step while ${flag} exists
if [ -e "${flag}" ] && [ "$1" = "-j" ] && [ "$2" = "-f" ]; then
  echo "injected fault: nft apply refused" >&2
  exit 1
fi
exec nft "$@"
`,
  );
  chmodSync(wrapper, 0o755);
  return { wrapper, flag, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
