// `npm run lab` / `lab:restart` / `lab:down`: the namespace lab with Junction
// running in its router namespace and the demo configuration applied.
// `lab up` on a running lab keeps it (state, revisions, token); `lab restart`
// restarts Junction alone, on the same state directory.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, type LabProcess } from './lab.js';
import { DEMO_PREFIX } from './topology.js';
import { apiRequest, targetFromStateDir } from '../../appliance/main/api-client.js';
import { LAB_STATE_ROOT } from '../../appliance/main/state-dir.js';
import { sleep } from '../../appliance/platform/sleep.js';
import { SERVE_NODE_FLAGS } from '../../appliance/main/node-flags.js';

const here = dirname(fileURLToPath(import.meta.url));
/** test/lab-kit -> the repository root */
const root = resolve(here, '..', '..');
const CLI = join(root, 'dist', 'appliance', 'cli.js');
export const LAB_API_PORT = 8080;

/** Under LAB_STATE_ROOT, where `junction` looks for a lab when no --state-dir is given. */
export function labStateDir(prefix: string): string {
  return join(LAB_STATE_ROOT, prefix);
}


/** Waits (bounded) until Junction answers on its Unix socket. */
// JUNCTION_LAB_START_TIMEOUT_S: test:xfrm's emulated guest (qemu TCG, 15-30x slower) needs longer to start Junction
export async function waitForApi(stateDir: string, timeoutMs = Number(process.env.JUNCTION_LAB_START_TIMEOUT_S || 20) * 1000): Promise<void> {
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

/** The `junction serve` the lab kit started (recognised by its recorded argv). */
const isLabJunction = (argv: readonly string[]) => argv.includes(CLI) && argv.includes('serve');

/**
 * Starts `junction serve` in the router namespace and in a UTS namespace of
 * its own (`unshare --uts` execs in place, so the recorded pid is Junction's):
 * `ip netns exec` alone shares the machine's hostname, and the demo's
 * `system.hostname` would rename this machine.
 */
function startJunction(lab: Lab, stateDir: string): LabProcess {
  const argv = ['unshare', '--uts', process.execPath, ...SERVE_NODE_FLAGS, CLI, 'serve', '--state-dir', stateDir, '--listen', `0.0.0.0:${LAB_API_PORT}`, '--tls-self-signed'];
  return lab.spawn('router', argv, { logFile: join(stateDir, 'junction.log') });
}

async function currentRevision(stateDir: string): Promise<number | null> {
  const response = await apiRequest<{ revision?: number | null }>(targetFromStateDir(stateDir), 'GET', '/v1/status').catch(() => undefined);
  return response?.status === 200 ? (response.body.revision ?? null) : null;
}

/** The recorded lab with every namespace present, or undefined (nothing, or a broken leftover). */
async function attachRunning(prefix: string): Promise<Lab | undefined> {
  try {
    return await Lab.attach(prefix);
  } catch {
    return undefined;
  }
}

export async function labUp(options: { prefix?: string }): Promise<void> {
  const prefix = options.prefix ?? DEMO_PREFIX;
  const stateDir = labStateDir(prefix);
  const running = await attachRunning(prefix);
  if (running && existsSync(join(stateDir, 'junction.db'))) return keepRunningLab(running, stateDir);

  await Lab.cleanupStale(prefix);
  const lab = await Lab.up({ prefix, keep: true });
  // A new lab starts from a fresh appliance: no revisions, a new token.
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const junction = startJunction(lab, stateDir);
  try {
    await waitForApi(stateDir);
    const demo = readFileSync(join(here, 'demo.yaml'), 'utf8');
    const result = await apiRequest(targetFromStateDir(stateDir), 'PUT', '/v1/config?comment=lab%20demo', demo, { contentType: 'application/yaml' });
    if (result.status !== 200) throw new Error(`the demo config was refused: ${result.text}`);
  } catch (error) {
    await lab.down();
    throw error;
  }
  process.stdout.write(`\nThe lab ${prefix} is up with the demo config (test/lab-kit/demo.yaml) at revision 1.\n`);
  printBanner(lab, stateDir, junction.pid);
}

/** `lab up` on a lab that is already up: nothing is wiped or re-applied. */
async function keepRunningLab(lab: Lab, stateDir: string): Promise<void> {
  let junction = lab.findProcess(isLabJunction);
  if (junction) {
    await waitForApi(stateDir).catch(() => {
      throw new Error(`the lab ${lab.prefix} is up but Junction (pid ${junction!.pid}) does not answer; see ${join(stateDir, 'junction.log')}, or run: npm run lab:restart`);
    });
    process.stdout.write(`\nThe lab ${lab.prefix} is already running: nothing was changed. Its state (revision ${await currentRevision(stateDir) ?? 'none'}) and API token are kept.\n`);
  } else {
    junction = startJunction(lab, stateDir);
    await waitForApi(stateDir);
    process.stdout.write(`\nThe lab ${lab.prefix} was up but Junction was not running: started it again on the kept state (revision ${await currentRevision(stateDir) ?? 'none'}, same API token).\n`);
  }
  process.stdout.write('To start from a fresh appliance instead: npm run lab:down && npm run lab\n');
  printBanner(lab, stateDir, junction.pid);
}

/** Restarts `junction serve` alone (the pid the lab recorded), on the same state directory. */
export async function labRestart(options: { prefix?: string }): Promise<void> {
  const prefix = options.prefix ?? DEMO_PREFIX;
  const lab = await attachRunning(prefix);
  if (!lab) throw new Error(`no lab ${prefix} is running; start it with: npm run lab`);
  const stateDir = labStateDir(prefix);
  const old = lab.findProcess(isLabJunction);
  if (old) await lab.stopProcess(old.pid);
  const junction = startJunction(lab, stateDir);
  await waitForApi(stateDir);
  const revision = await currentRevision(stateDir);
  process.stdout.write(`\n${old ? `Stopped Junction (pid ${old.pid}) and started` : 'Junction was not running: started'} it again (pid ${junction.pid}) on ${stateDir}: revision ${revision ?? 'none'} and the API token are kept; the lab's namespaces were not touched.\n`);
  printBanner(lab, stateDir, junction.pid);
}

function printBanner(lab: Lab, stateDir: string, pid: number): void {
  const token = readFileSync(join(stateDir, 'api-token'), 'utf8').trim();
  const ns = lab.nsName('router');
  const cert = join(stateDir, 'tls', 'self-signed.crt');
  const fingerprint = new X509Certificate(readFileSync(cert)).fingerprint256;
  process.stdout.write(`
Junction is running in network namespace ${ns} (pid ${pid}, in a UTS namespace of its own).

  API token   ${token}   (admin; junction token create NAME --scope read|operate makes more)
  API socket  ${join(stateDir, 'api.sock')}   (plain HTTP, root only, reachable from this machine; no lab traffic leaves a namespace)
  API in lab  https://100.64.0.2:${LAB_API_PORT}/v1 from ${lab.nsName('ccnn')}, and https://127.0.0.1:${LAB_API_PORT}/v1 inside ${ns}
              (HTTPS only: plain http:// on that port is refused with 400 tls_required)
  TLS cert    ${cert}   (self-signed; trust it with curl --cacert / junction --ca)
              SHA-256 ${fingerprint}
  OpenAPI     https://127.0.0.1:${LAB_API_PORT}/docs inside ${ns}
  log         ${join(stateDir, 'junction.log')}

Try:
  curl -s --unix-socket ${join(stateDir, 'api.sock')} -H "Authorization: Bearer ${token}" http://junction/v1/status
  node ${CLI} status          # finds this lab's state dir by itself while it is the only lab
  ip netns exec ${lab.nsName('a1')} ping -c 2 198.18.0.2        # VPC a -> internet, NATed
  ip netns exec ${lab.nsName('ccnn')} curl -s --cacert ${cert} -H "Authorization: Bearer ${token}" https://100.64.0.2:${LAB_API_PORT}/v1/config?format=yaml
  ip netns exec ${lab.nsName('ccnn')} node ${CLI} token list --api https://100.64.0.2:${LAB_API_PORT} --ca ${cert} --token ${token}

Restart Junction alone (the lab stays):  npm run lab:restart
Stop everything:                         npm run lab:down
`);
}

export async function labDown(options: { prefix?: string }): Promise<void> {
  const prefix = options.prefix ?? DEMO_PREFIX;
  const removed = await Lab.down(prefix);
  process.stdout.write(`lab ${prefix} is down${removed.length ? ` (removed ${removed.join(', ')})` : ''}\n`);
}
