// Problems found while compiling. Each names the document path it came from,
// so the API can point the operator at the offending object.
import type { Problem } from '../appliance/model/problems.js';

export type { Problem };

export class CompileError extends Error {
  constructor(readonly problems: Problem[]) {
    super(`ruleset does not compile: ${problems.slice(0, 5).map((p) => `${p.path}: ${p.message}`).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}`);
    this.name = 'CompileError';
  }
}
