// BGP over Direct Connect: each neighbor's session state, uptime, prefix
// counts, last error and BFD from GET /v1/bgp/status, a hard-reset button,
// and the routes bird learned (GET /v1/bgp/routes, the first ROUTE_LIMIT).
import { ApiError, apiPath, get, request } from './api.js';
import { html } from './html.js';
import { badge, onAction, requestRefresh, type View } from './dom.js';
import { formatDuration } from './format.js';

const ROUTE_LIMIT = 200;

interface Neighbor {
  id: string;
  address: string;
  remote_asn: number;
  enabled: boolean;
  state: string;
  uptime_s?: number;
  last_error?: string;
  prefixes: { received: number; accepted: number; filtered: number; advertised: number };
  bfd: { configured: boolean; state?: string };
}
interface Route {
  prefix: string;
  neighbor?: string;
  primary: boolean;
  next_hops: Array<{ address?: string; interface?: string }>;
  as_path?: number[];
  local_pref?: number;
  med?: number;
}

let lastReset: string | undefined;

onAction('bgp-reset', async (button) => {
  const id = button.dataset.neighbor!;
  try {
    await request('POST', apiPath`/v1/bgp/neighbors/${id}/reset`);
    lastReset = `neighbor ${id}: session reset`;
  } catch (error) {
    lastReset = `reset of ${id} failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  requestRefresh();
});

export const bgpView: View = {
  id: 'bgp',
  title: 'BGP',
  async load() {
    let status: { configured: boolean; bird: any; neighbors: Neighbor[] };
    try {
      status = await get('/v1/bgp/status');
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) return html`<p class="muted">${error.message}</p>`;
      throw error;
    }
    if (!status.configured) return html`<p class="muted" id="bgp-not-configured">BGP: not configured.</p>`;
    const routes = await get<{ routes: Route[]; truncated: boolean }>('/v1/bgp/routes', { limit: String(ROUTE_LIMIT) }).catch(() => ({ routes: [] as Route[], truncated: false }));
    const bird = status.bird ?? {};
    return html`<p class="facts">bird ${bird.running ? html`running (pid ${bird.pid})` : 'not running'} · restarts ${bird.restarts ?? 0}</p>
    ${lastReset ? html`<p class="notice">${lastReset}</p>` : ''}
    <h2>Neighbors</h2>
    <table class="data" id="bgp-neighbors"><thead><tr><th>neighbor</th><th>address</th><th>AS</th><th>state</th><th>up</th>
      <th class="num">received</th><th class="num">accepted</th><th class="num">filtered</th><th class="num">advertised</th><th>BFD</th><th>last error</th><th></th></tr></thead>
      <tbody>${status.neighbors.map((n) => html`<tr data-neighbor="${n.id}">
        <td><strong>${n.id}</strong>${n.enabled ? '' : html` <small class="muted">(disabled)</small>`}</td><td><code>${n.address}</code></td><td>${n.remote_asn}</td>
        <td>${badge(n.state)}</td><td>${formatDuration(n.uptime_s)}</td>
        <td class="num">${n.prefixes.received}</td><td class="num">${n.prefixes.accepted}</td><td class="num">${n.prefixes.filtered}</td><td class="num">${n.prefixes.advertised}</td>
        <td>${n.bfd.configured ? badge(n.bfd.state) : '–'}</td><td>${n.last_error ?? ''}</td>
        <td><button type="button" data-action="bgp-reset" data-neighbor="${n.id}" data-needs="operate">Reset</button></td></tr>`)}</tbody></table>
    <h2>Learned routes</h2>
    ${routes.routes.length ? html`<table class="data" id="bgp-routes"><thead><tr><th>prefix</th><th>from</th><th>next hop</th><th>AS path</th><th>local pref</th><th>MED</th><th>best</th></tr></thead>
      <tbody>${routes.routes.map((r) => html`<tr><td><code>${r.prefix}</code></td><td>${r.neighbor ?? ''}</td>
        <td>${r.next_hops.map((h) => `${h.address ?? ''}${h.interface ? ` dev ${h.interface}` : ''}`).join(', ')}</td>
        <td>${(r.as_path ?? []).join(' ')}</td><td>${r.local_pref ?? ''}</td><td>${r.med ?? ''}</td><td>${r.primary ? '★' : ''}</td></tr>`)}</tbody></table>
      ${routes.truncated ? html`<p class="muted">The first ${ROUTE_LIMIT} routes are shown.</p>` : ''}` : html`<p class="muted">No routes learned.</p>`}`;
  },
};
