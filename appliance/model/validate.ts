// Stage 1, validate: the document's shape and types (JSON Schema via TypeBox).
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { documentSchema, type Config } from './schema.js';
import { ConfigRejected, type Problem } from './problems.js';

export type Validator = (doc: unknown) => Config;

/** A validator for the document with these subsystem sections (compiled once). */
export function documentValidator(sections: Record<string, TSchema> = {}): Validator {
  const checker = TypeCompiler.Compile(documentSchema(sections));
  return (doc: unknown): Config => {
    if (checker.Check(doc)) return doc as Config;
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
  };
}
