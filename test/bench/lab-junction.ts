// What the rules-scale and api benchmarks share: `junction serve` started in
// a lab's router namespace (in a UTS namespace of its own, so the demo's
// hostname never renames this machine), optionally under `node --cpu-prof`,
// and the lab's demo document.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { apiRequest, targetFromStateDir, type ApiTarget } from '../../appliance/main/api-client.js';
import { LAB_API_PORT, waitForApi } from '../lab-kit/command.js';
import type { Lab, LabProcess } from '../lab-kit/lab.js';
import { REPO_ROOT } from './report.js';
import { SERVE_NODE_FLAGS } from '../../appliance/main/node-flags.js';

export const CLI = join(REPO_ROOT, 'dist', 'appliance', 'cli.js');

export interface LabJunction {
  process: LabProcess;
  api: ApiTarget;
  stateDir: string;
}

/**
 * Starts Junction on a fresh state dir and waits (bounded) for its API.
 * BENCH_CPU_PROF=<dir> runs it under `node --cpu-prof`: the profile is
 * written there when Junction exits on SIGTERM (the lab's teardown).
 */
export async function startLabJunction(lab: Lab, stateDir: string): Promise<LabJunction> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing; build first (npm run build)`);
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const profileDir = process.env.BENCH_CPU_PROF;
  const node = [process.execPath, ...SERVE_NODE_FLAGS, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  const argv = ['unshare', '--uts', ...node, CLI, 'serve', '--state-dir', stateDir, '--listen', `127.0.0.1:${LAB_API_PORT}`];
  const junction = lab.spawn('router', argv, { logFile: join(stateDir, 'junction.log') });
  const exitedEarly = junction.exited.then((code) => {
    throw new Error(`Junction exited ${code} while starting; see ${join(stateDir, 'junction.log')}`);
  });
  exitedEarly.catch(() => undefined); // Junction ending later (at teardown) is no error
  await Promise.race([waitForApi(stateDir, 30_000), exitedEarly]);
  return { process: junction, api: targetFromStateDir(stateDir), stateDir };
}

/** The last lines of Junction's log, for a benchmark that could not run. */
export function junctionLogTail(stateDir: string, lines = 15): string {
  const file = join(stateDir, 'junction.log');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : '(no log)';
}

export interface DemoDocument {
  firewall?: { policies: Array<Record<string, unknown>> };
  nat?: { egress?: Array<Record<string, unknown>> };
  [key: string]: unknown;
}

export function demoDocument(): DemoDocument {
  return parseYaml(readFileSync(join(REPO_ROOT, 'test', 'lab-kit', 'demo.yaml'), 'utf8')) as DemoDocument;
}

/** A timed API request; throws unless the status is one of `ok`. */
export async function timedRequest(api: ApiTarget, method: string, path: string, body?: unknown, ok: number[] = [200, 201]): Promise<{ ms: number; body: unknown }> {
  const start = process.hrtime.bigint();
  const response = await apiRequest(api, method, path, body, { timeoutMs: 180_000 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (!ok.includes(response.status)) throw new Error(`${method} ${path}: ${response.status} ${response.text.slice(0, 2000)}`);
  return { ms, body: response.body };
}
