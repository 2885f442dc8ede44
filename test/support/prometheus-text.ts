// A strict reader of the Prometheus text format (0.0.4) for tests: every
// line must be a HELP, a TYPE or a sample of a family declared before it,
// with valid names, quoted and escaped label values, a number, and no
// series twice. It throws on the first line that is not, naming it, so a
// test that scrapes /metrics also proves the exposition is well formed.

export interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** family name -> its TYPE */
  types: Map<string, string>;
  series: Series[];
  /** the value of the one series with this name and (at least) these labels; undefined when none matches */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** all series of a name */
  all(name: string): Series[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const NUMBER = /^(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN)$/;

/** The family a sample name belongs to: itself, or a histogram's/summary's _bucket, _sum, _count. */
function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  const type = types.get(base);
  return type === 'histogram' || type === 'summary' ? base : undefined;
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length) {
    const match = /^([^=,"]+)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/.exec(rest);
    if (!match) throw new Error(`${where}: malformed labels at ${JSON.stringify(rest)}`);
    const [whole, name, raw] = match;
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    labels[name] = raw.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(whole.length);
  }
  return labels;
}

export function parseExposition(text: string): Exposition {
  if (text.length && !text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const series: Series[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1} (${JSON.stringify(line.slice(0, 120))})`;
    if (line === '') return;
    const comment = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (comment) {
      const [, kind, name, rest] = comment;
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name`);
      if (kind === 'HELP') {
        if (helped.has(name)) throw new Error(`${where}: second HELP for ${name}`);
        if (/\\[^\\n]/.test(rest)) throw new Error(`${where}: bad escape in HELP`);
        helped.add(name);
      } else {
        if (types.has(name)) throw new Error(`${where}: second TYPE for ${name}`);
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type ${JSON.stringify(rest)}`);
        if (series.some((s) => familyOf(s.name, types) === name || s.name === name)) throw new Error(`${where}: TYPE after samples of ${name}`);
        types.set(name, rest);
      }
      return;
    }
    if (line.startsWith('#')) throw new Error(`${where}: a comment that is neither HELP nor TYPE`);
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?[0-9]+))?$/.exec(line);
    if (!sample) throw new Error(`${where}: not a sample line`);
    const [, name, labelText, valueText] = sample;
    if (!familyOf(name, types)) throw new Error(`${where}: sample of ${name} before its TYPE`);
    if (!NUMBER.test(valueText)) throw new Error(`${where}: bad value ${JSON.stringify(valueText)}`);
    const labels = labelText ? parseLabels(labelText, where) : {};
    const key = `${name}{${Object.entries(labels).sort().map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
    if (seen.has(key)) throw new Error(`${where}: series ${key} twice`);
    seen.add(key);
    series.push({ name, labels, value: Number(valueText.replace(/^\+?Inf$/, 'Infinity').replace(/^-Inf$/, '-Infinity')) });
  });
  const matching = (name: string, labels: Record<string, string>) => series.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return {
    types,
    series,
    all: (name) => series.filter((s) => s.name === name),
    value: (name, labels = {}) => {
      const found = matching(name, labels);
      if (found.length > 1) throw new Error(`${found.length} series of ${name} match ${JSON.stringify(labels)}`);
      return found[0]?.value;
    },
  };
}
