// A problem found in a configuration document, named by its path
// ("/firewall/policies/3/rules/7/source/0"), so the operator can find it.
export interface Problem {
  path: string;
  message: string;
}

/** Thrown when a document fails validate or verify; the API maps it to a 4xx. */
export class ConfigRejected extends Error {
  constructor(
    readonly stage: 'validate' | 'verify' | 'check',
    readonly problems: Problem[],
  ) {
    super(`${stage} failed: ${problems.slice(0, 3).map((p) => `${p.path || '/'}: ${p.message}`).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`);
    this.name = 'ConfigRejected';
  }
}

/** Collects problems; `at(path)` gives a scoped reporter. */
export class ProblemList {
  readonly items: Problem[] = [];
  add(path: string, message: string): void {
    this.items.push({ path, message });
  }
  get ok(): boolean {
    return this.items.length === 0;
  }
}
