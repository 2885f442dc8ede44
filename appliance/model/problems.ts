// A problem found in a configuration document, named by its path
// ("/firewall/policies/3/rules/7/source/0"), so the operator can find it.
export interface Problem {
  path: string;
  message: string;
  /** a warning is reported with the plan and the commit but does not stop it (default: error) */
  severity?: 'error' | 'warning';
}

export const isWarning = (problem: Problem): boolean => problem.severity === 'warning';

/** The same problem found by two checks is reported once. */
export function uniqueProblems(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.severity ?? 'error'}\u0000${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
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
  warn(path: string, message: string): void {
    this.items.push({ path, message, severity: 'warning' });
  }
}
