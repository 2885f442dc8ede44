// NAT as the document has it: egress (masquerade/SNAT), port forwards and
// 1:1 NAT, each with a delete button that goes through the plan panel.
import { apiPath, get } from './api.js';
import { html, type SafeHtml } from './html.js';
import { onAction, type View } from './dom.js';
import { stage } from './change.js';

type Entry = Record<string, any>;

/** The collection URL segment of each NAT list, for delete. */
const KINDS = { egress: 'egress', forward: 'port-forwards', one: 'one-to-one' } as const;

onAction('delete-nat', (button) => {
  const { kind, id } = button.dataset as { kind: keyof typeof KINDS; id: string };
  const segment = KINDS[kind];
  if (!segment) return;
  return stage({ label: `delete NAT ${segment} entry ${id}`, method: 'DELETE', path: apiPath`/v1/nat/${segment}/${id}`, takesComment: true });
});

function table(kind: keyof typeof KINDS, entries: Entry[], columns: Array<[string, (e: Entry) => unknown]>): SafeHtml {
  if (!entries.length) return html`<p class="muted">None.</p>`;
  return html`<table class="data"><thead><tr>${columns.map(([title]) => html`<th>${title}</th>`)}<th></th></tr></thead>
    <tbody>${entries.map((e) => html`<tr data-nat="${e.id}">${columns.map(([, cell]) => html`<td>${cell(e)}</td>`)}
      <td><button type="button" data-action="delete-nat" data-kind="${kind}" data-id="${e.id}" data-needs="admin">Delete…</button></td></tr>`)}</tbody></table>`;
}

const joined = (v: unknown) => (Array.isArray(v) ? v.join(', ') : v ?? '');

export const natView: View = {
  id: 'nat',
  title: 'NAT',
  async load() {
    const nat = (await get('/v1/config')).nat ?? {};
    return html`<h2>Egress</h2>
    ${table('egress', nat.egress ?? [], [['id', (e) => e.id], ['sources', (e) => joined(e.sources)], ['out of', (e) => e.interface], ['mode', (e) => e.mode ?? 'masquerade'], ['to address', (e) => e.to_address ?? ''], ['comment', (e) => e.comment ?? '']])}
    <h2>Port forwards</h2>
    ${table('forward', nat.port_forwards ?? [], [['id', (e) => e.id], ['on', (e) => `${e.interface}${e.external_address ? ` ${e.external_address}` : ''}`], ['protocol', (e) => e.protocol], ['port', (e) => e.port], ['to', (e) => `${e.to_address}${e.to_port ? `:${e.to_port}` : ''}`], ['from', (e) => joined(e.allowed_sources ?? 'any')], ['comment', (e) => e.comment ?? '']])}
    <h2>1:1 NAT</h2>
    ${table('one', nat.one_to_one ?? [], [['id', (e) => e.id], ['on', (e) => e.interface], ['external', (e) => e.external], ['internal', (e) => e.internal], ['comment', (e) => e.comment ?? '']])}`;
  },
};
