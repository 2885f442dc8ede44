// DHCP leases, when this Junction has a DHCP server: the dashboard does not
// assume the endpoint, it looks in the API's own description (/docs/json)
// for a GET under /v1/dhcp whose path names leases, and shows what that
// returns as a table. Without one, or with no dhcp section in the
// document, it says "not configured".
import { ApiError, get, session } from './api.js';
import { html } from './html.js';
import type { View } from './dom.js';

let leasesPath: Promise<string | undefined> | undefined;

/** A GET under /v1/dhcp that names leases and takes no path parameter, from an OpenAPI document. */
export function leasesPathIn(openapi: { paths?: Record<string, Record<string, unknown>> }): string | undefined {
  return Object.entries(openapi.paths ?? {}).find(([path, ops]) => path.startsWith('/v1/dhcp') && /lease/i.test(path) && !path.includes('{') && ops.get)?.[0];
}

/** The API's lease endpoint, from its OpenAPI description (read once). */
function findLeasesPath(): Promise<string | undefined> {
  // with the token, in case the API description ever needs one; a refusal here only means "no DHCP shown"
  leasesPath ??= fetch('/docs/json', { cache: 'no-store', headers: { authorization: `Bearer ${session.token() ?? ''}` } })
    .then((r) => (r.ok ? r.json() : { paths: {} }))
    .then(leasesPathIn)
    .catch(() => undefined);
  return leasesPath;
}

/** The list in an answer: the body itself, or its first array-valued field (leases, items, ...). */
export function rowsOf(body: unknown): Array<Record<string, unknown>> {
  if (Array.isArray(body)) return body;
  if (body && typeof body === 'object') {
    const list = Object.values(body).find(Array.isArray);
    if (list) return list as Array<Record<string, unknown>>;
  }
  return [];
}

const cell = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

export const dhcpView: View = {
  id: 'dhcp',
  title: 'DHCP',
  async load() {
    const [path, config] = await Promise.all([findLeasesPath(), get('/v1/config')]);
    if (!path) return html`<p class="muted" id="dhcp-not-configured">DHCP server: not configured (this Junction's API has no DHCP lease endpoint).</p>`;
    if (!config.dhcp) return html`<p class="muted" id="dhcp-not-configured">DHCP server: not configured (the document has no dhcp section).</p>`;
    let rows: Array<Record<string, unknown>>;
    try {
      rows = rowsOf(await get(path));
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 409)) return html`<p class="muted" id="dhcp-not-configured">DHCP server: ${error.message}</p>`;
      throw error;
    }
    const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    return html`<h2>Leases</h2>${rows.length
      ? html`<table class="data" id="dhcp-leases"><thead><tr>${columns.map((c) => html`<th>${c}</th>`)}</tr></thead>
        <tbody>${rows.map((r) => html`<tr>${columns.map((c) => html`<td>${cell(r[c])}</td>`)}</tr>`)}</tbody></table>`
      : html`<p class="muted">No leases.</p>`}`;
  },
};
