// Regenerates test/rules/cases/NAME.out.json from NAME.in.yaml (npm run golden:update).
// The only file under rules/ that touches the file system. A case may have
// NAME.options.yaml with CompileOptions (default: {flowtable: false}).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import type { Config } from '../../appliance/model/schema.js';
import { compileRuleset, type CompileOptions } from '../../rules/index.js';

export const CASES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'cases');
export const REJECT_DIR = join(CASES_DIR, 'reject');

export interface GoldenCase {
  name: string;
  config: Config;
  options: CompileOptions;
  outPath: string;
}

function load(dir: string, name: string): GoldenCase {
  const config = parse(readFileSync(join(dir, `${name}.in.yaml`), 'utf8')) as Config;
  const optionsPath = join(dir, `${name}.options.yaml`);
  const options: CompileOptions = existsSync(optionsPath) ? parse(readFileSync(optionsPath, 'utf8')) : { flowtable: false };
  return { name, config, options, outPath: join(dir, `${name}.out.json`) };
}

const names = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.in.yaml')).map((f) => f.slice(0, -'.in.yaml'.length)).sort();

export const goldenCases = (): GoldenCase[] => names(CASES_DIR).map((n) => load(CASES_DIR, n));
export const rejectCases = (): (GoldenCase & { expected: { path: string; message: string }[] })[] =>
  names(REJECT_DIR).map((n) => ({ ...load(REJECT_DIR, n), expected: JSON.parse(readFileSync(join(REJECT_DIR, `${n}.err.json`), 'utf8')) }));

/** The golden file text: the batch exactly as handed to `nft -j -f`. */
export function renderGolden(c: GoldenCase): string {
  const { nftables } = compileRuleset(c.config, c.options);
  return `${JSON.stringify({ nftables }, null, 2)}\n`;
}

function main(): void {
  for (const c of goldenCases()) {
    const text = renderGolden(c);
    const old = existsSync(c.outPath) ? readFileSync(c.outPath, 'utf8') : '';
    if (old !== text) writeFileSync(c.outPath, text);
    console.log(`${old === text ? 'same   ' : 'updated'} ${c.name}.out.json`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
