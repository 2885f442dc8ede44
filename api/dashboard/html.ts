// Every piece of HTML the dashboard makes goes through the `html` tag: each
// interpolated value is escaped unless it is already SafeHtml (made by this
// tag), so names, comments and addresses from the document or a daemon can
// never become markup. Templates always quote attributes, so escaping the
// quote characters is enough inside them too. Pure: no DOM (unit-tested).

/** A string of HTML that this module built from escaped parts. */
export class SafeHtml {
  constructor(readonly text: string) {}
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

function fragment(value: unknown): string {
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(fragment).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(value);
}

/** html`<td>${name}</td>`: values escaped, SafeHtml and arrays of it kept, null/undefined/false dropped. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += fragment(value) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}

/** A value as compact JSON text (for config diffs), escaped like any other value when interpolated. */
export function jsonText(value: unknown): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
