// `junction lab up|down`: the namespace lab with Junction running in its
// router namespace and the demo configuration applied.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab } from './lab.js';
import { DEMO_PREFIX } from './topology.js';
import { apiRequest, targetFromStateDir } from '../../appliance/main/api-client.js';

const here = dirname(fileURLToPath(import.meta.url));
/** test/lab-kit -> the repository root */
const root = resolve(here, '..', '..');
export const LAB_API_PORT = 8080;

export function labStateDir(prefix: string): string {
  return join('/var/lib/junction-lab', prefix);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded) until Junction answers on its Unix socket. */
export async function waitForApi(stateDir: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(join(stateDir, 'api.sock'))) {
      const ok = await apiRequest(targetFromStateDir(stateDir), 'GET', '/v1/health').then((r) => r.status === 200, () => false);
      if (ok) return;
    }
    await sleep(200);
  }
  throw new Error(`Junction did not answer within ${timeoutMs / 1000} s; see ${join(stateDir, 'junction.log')}`);
}

export async function labUp(options: { prefix?: string }): Promise<void> {
  const prefix = options.prefix ?? DEMO_PREFIX;
  await Lab.cleanupStale(prefix);
  const lab = await Lab.up({ prefix, keep: true });
  // A new lab starts from a fresh appliance: no revisions, a new token.
  const stateDir = labStateDir(prefix);
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const cli = join(root, 'dist', 'appliance', 'cli.js');
  const junction = lab.spawn('router', [process.execPath, cli, 'serve', '--state-dir', stateDir, '--listen', `0.0.0.0:${LAB_API_PORT}`], {
    logFile: join(stateDir, 'junction.log'),
  });
  try {
    await waitForApi(stateDir);
    const demo = readFileSync(join(here, 'demo.yaml'), 'utf8');
    const result = await apiRequest(targetFromStateDir(stateDir), 'PUT', '/v1/config?comment=lab%20demo', demo, { contentType: 'application/yaml' });
    if (result.status !== 200) throw new Error(`the demo config was refused: ${result.text}`);
  } catch (error) {
    await lab.down();
    throw error;
  }
  const token = readFileSync(join(stateDir, 'api-token'), 'utf8').trim();
  const ns = lab.nsName('router');
  process.stdout.write(`
Junction is running in network namespace ${ns} (pid ${junction.pid}) with the demo config (test/lab-kit/demo.yaml).

  API token   ${token}
  API socket  ${join(stateDir, 'api.sock')}   (reachable from this machine; no lab traffic leaves a namespace)
  API in lab  http://100.64.0.2:${LAB_API_PORT}/v1  and http://127.0.0.1:${LAB_API_PORT}/v1 inside ${ns}
  OpenAPI     http://127.0.0.1:${LAB_API_PORT}/docs inside ${ns}
  log         ${join(stateDir, 'junction.log')}

Try:
  curl -s --unix-socket ${join(stateDir, 'api.sock')} -H "Authorization: Bearer ${token}" http://junction/v1/status
  node ${cli} status --state-dir ${stateDir}
  ip netns exec ${lab.nsName('a1')} ping -c 2 198.18.0.2        # VPC a -> internet, NATed
  ip netns exec ${lab.nsName('router')} curl -s -H "Authorization: Bearer ${token}" http://127.0.0.1:${LAB_API_PORT}/v1/config?format=yaml

Stop everything:  npm run lab:down
`);
}

export async function labDown(options: { prefix?: string }): Promise<void> {
  const prefix = options.prefix ?? DEMO_PREFIX;
  const removed = await Lab.down(prefix);
  process.stdout.write(`lab ${prefix} is down${removed.length ? ` (removed ${removed.join(', ')})` : ''}\n`);
}
