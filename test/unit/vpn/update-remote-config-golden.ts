// Regenerates the remote-config golden files (test/unit/vpn/fixtures/remote-config).
// Review every changed file by hand against the vendor's documented syntax.
import { existsSync, readFileSync } from 'node:fs';
import { GOLDEN_CASES, goldenPath, renderCase, writeGolden } from './fixtures/remote-config/cases.js';

for (const c of GOLDEN_CASES) {
  const text = renderCase(c);
  const path = goldenPath(c);
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '';
  if (old !== text) writeGolden(c, text);
  console.log(`${old === text ? 'same   ' : 'updated'} ${path.slice(path.lastIndexOf('/') + 1)}`);
}
