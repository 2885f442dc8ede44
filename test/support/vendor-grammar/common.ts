// Shared pieces of the vendor syntax models (test/support/vendor-grammar):
// a problem list with line numbers, address and number checks, and a
// line-rule matcher. The models encode each vendor's documented command
// grammar (command paths, the mode each is valid in, value sets and ranges)
// plus the cross-line facts a commit or paste depends on, so a generated
// config is checked as the device would read it, not only as a snapshot.

export interface GrammarProblem {
  line: number;
  text: string;
  message: string;
}

export class Problems {
  readonly list: GrammarProblem[] = [];
  add(line: number, text: string, message: string): void {
    this.list.push({ line, text, message });
  }
}

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);
export const isIpv4 = (value: string): boolean => IPV4.test(value);

/** A dotted netmask with contiguous ones. */
export function isMask(value: string): boolean {
  if (!isIpv4(value)) return false;
  const bits = value.split('.').reduce((n, o) => (n << 8) | Number(o), 0) >>> 0;
  const inverted = ~bits >>> 0;
  return (inverted & (inverted + 1)) === 0;
}

export function isCidr4(value: string): boolean {
  const [address, len, ...rest] = value.split('/');
  return rest.length === 0 && address !== undefined && isIpv4(address) && len !== undefined && /^\d{1,2}$/.test(len) && Number(len) <= 32;
}

export function intIn(value: string | undefined, min: number, max: number): boolean {
  return value !== undefined && /^\d{1,10}$/.test(value) && Number(value) >= min && Number(value) <= max;
}

/** Every word of a space-separated list is in `allowed`, and there is at least one. */
export function wordsIn(value: string | undefined, allowed: readonly string[]): boolean {
  const words = (value ?? '').trim().split(/\s+/).filter(Boolean);
  return words.length > 0 && words.every((w) => allowed.includes(w));
}

/** One command form: the regex matches the whole line (without its mode indentation). */
export interface LineRule<S> {
  pattern: RegExp;
  /** a message when the values are wrong */
  check?: (m: RegExpExecArray) => string | undefined;
  /** note what the line declares, for the cross-line checks */
  record?: (m: RegExpExecArray, state: S, line: number) => void;
}

/** Finds the rule a line matches; reports a line no rule knows, or a rule's check failing. */
export function applyRules<S>(rules: readonly LineRule<S>[], body: string, state: S, problems: Problems, line: number, text: string, context: string): LineRule<S> | undefined {
  for (const rule of rules) {
    const m = rule.pattern.exec(body);
    if (!m) continue;
    const wrong = rule.check?.(m);
    if (wrong) problems.add(line, text, `${context}: ${wrong}`);
    else rule.record?.(m, state, line);
    return rule;
  }
  problems.add(line, text, `${context}: not a known command here`);
  return undefined;
}
