// Stage 1, validate: the document's shape and types (JSON Schema via TypeBox).
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Config } from './schema.js';
import { ConfigRejected, type Problem } from './problems.js';

const checker = TypeCompiler.Compile(Config);

/** Returns the document typed as Config, or throws ConfigRejected naming each bad path. */
export function validateConfig(doc: unknown): Config {
  if (checker.Check(doc)) return doc;
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const error of checker.Errors(doc)) {
    // Unions report one error per branch; the first one per path is enough.
    if (seen.has(error.path)) continue;
    seen.add(error.path);
    problems.push({ path: error.path || '/', message: error.message });
    if (problems.length >= 50) break;
  }
  throw new ConfigRejected('validate', problems);
}
