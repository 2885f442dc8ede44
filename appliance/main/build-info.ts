// Which Junction this is, for junction_build_info: the version in the
// package.json that ships beside the code (the repository's in development,
// /opt/junction's in the Debian package, the image's in a container).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest package.json named "junction" above this file; "unknown" when there is none. */
export function junctionVersion(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'junction' && manifest.version) return manifest.version;
    } catch {
      // no package.json here: look one level up
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}
