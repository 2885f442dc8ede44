// Zones and policies with each rule's hit counters (the kernel's counters of
// the set elements a rule owns, summed in GET /v1/status, joined to the document's rules by
// policy and id), plus a form that adds a rule and a delete button per
// rule: both go through the plan-then-commit panel.
import { apiPath, get } from './api.js';
import { html } from './html.js';
import { byId, onAction, render, type View } from './dom.js';
import { RateTracker, formatBytes, formatCount, formatPacketRate } from './format.js';
import { stage } from './change.js';

interface Rule {
  id: string;
  action: string;
  source?: string[];
  destination?: string[];
  services?: string[];
  enabled?: boolean;
  comment?: string;
}
interface Policy {
  name: string;
  from: string;
  to: string;
  description?: string;
  default_action?: string;
  rules: Rule[];
}

const rates = new RateTracker();
const list = (values: string[] | undefined) => (values?.length ? values.join(', ') : 'any');
/** "a, b ,c" -> ["a","b","c"]; empty -> undefined (the API's "any") */
const splitList = (text: FormDataEntryValue | null) => {
  const parts = String(text ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return parts.length ? parts : undefined;
};

onAction('delete-rule', (button) => {
  const { policy, rule } = button.dataset as { policy: string; rule: string };
  return stage({ label: `delete rule ${rule} from policy ${policy}`, method: 'DELETE', path: apiPath`/v1/firewall/policies/${policy}/rules/${rule}`, takesComment: true });
});

export const firewallView: View = {
  id: 'firewall',
  title: 'Zones & policies',
  async mount(root) {
    const policies: Policy[] = (await get('/v1/firewall/policies')).items;
    render(root, html`<p class="card muted needs-admin-note">Adding or deleting rules needs a token of scope admin.</p>
    <form id="add-rule-form" class="card" data-needs="admin">
      <h2>Add a rule</h2>
      <label>Policy <select name="policy" required>${policies.map((p) => html`<option value="${p.name}">${p.name} (${p.from} → ${p.to})</option>`)}</select></label>
      <label>Id <input name="id" required maxlength="48" autocomplete="off"></label>
      <label>Action <select name="action"><option>accept</option><option>drop</option><option>reject</option></select></label>
      <label>Sources <input name="source" placeholder="any" autocomplete="off"></label>
      <label>Destinations <input name="destination" placeholder="any" autocomplete="off"></label>
      <label>Services <input name="services" placeholder="e.g. tcp/443, postgres" autocomplete="off"></label>
      <label>Position <input name="position" type="number" min="0" placeholder="last"></label>
      <label>Comment <input name="comment" maxlength="128" autocomplete="off"></label>
      <button type="submit" class="primary">Preview plan</button>
    </form>`);
    byId<HTMLFormElement>('add-rule-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const form = new FormData(event.target as HTMLFormElement);
      const policy = String(form.get('policy'));
      const rule: Rule = { id: String(form.get('id')).trim(), action: String(form.get('action')) };
      const source = splitList(form.get('source'));
      const destination = splitList(form.get('destination'));
      const services = splitList(form.get('services'));
      const comment = String(form.get('comment') ?? '').trim();
      if (source) rule.source = source;
      if (destination) rule.destination = destination;
      if (services) rule.services = services;
      if (comment) rule.comment = comment;
      const position = String(form.get('position') ?? '').trim();
      const path = apiPath`/v1/firewall/policies/${policy}/rules` + (position ? `?position=${encodeURIComponent(position)}` : '');
      void stage({ label: `add rule ${rule.id} to policy ${policy}`, method: 'POST', path, body: rule, takesComment: true });
    });
  },
  async load() {
    const [config, status] = await Promise.all([get('/v1/config'), get('/v1/status')]);
    const at = Date.parse(status.collected_at);
    const counters = new Map<string, { packets: number; bytes: number }>();
    for (const c of status.firewall?.rules ?? []) counters.set(`${c.policy}/${c.id}`, c);
    const zones: Array<{ name: string; description?: string }> = config.zones ?? [];
    const members = (zone: string) => (config.interfaces ?? []).filter((i: { zone?: string }) => i.zone === zone).map((i: { name: string }) => i.name);
    const policies: Policy[] = config.firewall?.policies ?? [];
    return html`<h2>Zones</h2>
    <table class="data" id="zones-table"><thead><tr><th>zone</th><th>interfaces</th><th>description</th></tr></thead>
      <tbody>${zones.map((z) => html`<tr><td><strong>${z.name}</strong></td><td>${members(z.name).join(', ')}</td><td>${z.description ?? ''}</td></tr>`)}</tbody></table>
    <h2>Policies</h2>
    ${policies.length ? '' : html`<p class="muted">No policies: zero trust, no traffic passes between zones.</p>`}
    ${policies.map((p) => html`<section class="policy" data-policy="${p.name}">
      <h3>${p.name}: ${p.from} → ${p.to} <small class="muted">default ${p.default_action ?? 'drop'}</small></h3>
      ${p.description ? html`<p>${p.description}</p>` : ''}
      <table class="data rules"><thead><tr><th>#</th><th>rule</th><th>action</th><th>source</th><th>destination</th><th>services</th><th>comment</th>
        <th class="num">packets</th><th class="num">bytes</th><th class="num">pkt/s</th><th></th></tr></thead>
      <tbody>${p.rules.map((r, index) => {
        const hits = counters.get(`${p.name}/${r.id}`);
        const rate = rates.update(`rule:${p.name}/${r.id}`, at, { packets: hits?.packets });
        return html`<tr data-rule="${r.id}"${r.enabled === false ? html` class="disabled"` : ''}>
          <td>${index}</td><td><code>${r.id}</code></td><td>${r.action}</td><td>${list(r.source)}</td><td>${list(r.destination)}</td><td>${list(r.services)}</td>
          <td>${r.comment ?? ''}</td><td class="num hits">${formatCount(hits?.packets)}</td><td class="num">${formatBytes(hits?.bytes)}</td><td class="num">${formatPacketRate(rate.packets)}</td>
          <td><button type="button" data-action="delete-rule" data-policy="${p.name}" data-rule="${r.id}" data-needs="admin">Delete…</button></td></tr>`;
      })}</tbody></table></section>`)}
    <h2>Built-in counters</h2>
    <table class="data"><thead><tr><th>counter</th><th class="num">packets</th><th class="num">bytes</th></tr></thead>
      <tbody>${(status.firewall?.builtin ?? []).map((c: { name: string; packets: number; bytes: number }) => html`<tr><td><code>${c.name}</code></td><td class="num">${formatCount(c.packets)}</td><td class="num">${formatBytes(c.bytes)}</td></tr>`)}</tbody></table>`;
  },
};
