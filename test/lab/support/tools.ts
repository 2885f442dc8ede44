// A lab test file whose programs are missing must fail, never skip: a
// missing program is a machine that setup.sh did not finish, not a platform
// gap, and a skip would let `npm test` pass having tested nothing. Only a
// run without root skips (requireRoot), and says so.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface NeededTool {
  /** a command on PATH, or an absolute path (a daemon or a plugin file) */
  program: string;
  /** the Debian package that ships it */
  pkg: string;
}

export const CHARON_TOOLS: NeededTool[] = [
  { program: '/usr/lib/ipsec/charon', pkg: 'strongswan-charon' },
  { program: '/usr/lib/ipsec/plugins/libstrongswan-vici.so', pkg: 'strongswan-swanctl' },
  { program: '/usr/lib/ipsec/plugins/libstrongswan-openssl.so', pkg: 'libstrongswan-standard-plugins' },
  { program: '/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so', pkg: 'libcharon-extra-plugins' },
];

function present(tool: NeededTool): boolean {
  if (tool.program.startsWith('/')) return existsSync(tool.program);
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool.program]).status === 0;
}

/** Throws, failing the whole file with the reason, when a program it runs is missing. Without root the file skips instead. */
export function requireTools(file: string, isRoot: boolean, tools: NeededTool[]): void {
  if (!isRoot) return;
  const missing = tools.filter((tool) => !present(tool));
  if (missing.length === 0) return;
  const what = missing.map((t) => `${t.program} is missing (Debian package ${t.pkg})`).join('; ');
  throw new Error(`${file} CANNOT RUN: ${what}. Install what the tests need with: bash appliance/scripts/setup.sh`);
}
