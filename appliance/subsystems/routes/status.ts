// The routes' part of GET /v1/status: the main table as the kernel has it
// (static, BGP-learned, connected), never from the config.
import type { CommandRunner } from '../../platform/command-runner.js';
import { readJson } from '../../platform/command-runner.js';

export async function routesStatus(runner: CommandRunner): Promise<{ routes: Array<Record<string, unknown>> }> {
  const [routes4, routes6] = await Promise.all([
    readJson<Array<Record<string, unknown>>>(runner, 'ip', ['-4', '-j', 'route', 'show', 'table', 'main']),
    readJson<Array<Record<string, unknown>>>(runner, 'ip', ['-6', '-j', 'route', 'show', 'table', 'main']),
  ]);
  return { routes: [...(routes4 ?? []), ...(routes6 ?? [])] };
}
