// IPsec tunnels: state and throughput per tunnel from GET /v1/vpn/status
// (rates from two readings of its byte counters), initiate and terminate
// buttons, and charon's event stream (GET /v1/vpn/events, read with fetch
// so the token stays in a header) to redraw as soon as a tunnel changes.
import { ApiError, apiPath, get, request, session } from './api.js';
import { html } from './html.js';
import { badge, onAction, requestRefresh, type View } from './dom.js';
import { RateTracker, formatBitRate, formatBytes, formatCount, formatDuration, formatTime } from './format.js';

interface Tunnel {
  name: string;
  state: string;
  established_at?: string;
  last_rekey?: string;
  bytes_in: number;
  bytes_out: number;
  packets_in: number;
  packets_out: number;
  sas: Array<{ state: string; spi_in?: string; algorithms: string; rekey_in_s?: number }>;
}
interface Peer {
  name: string;
  state: string;
  remote?: string;
  remote_id?: string;
  algorithms?: string;
  established_at?: string;
  udp_encap?: boolean;
  tunnels: Tunnel[];
}

const rates = new RateTracker();
let lastAction: { text: string; ok: boolean } | undefined;


async function control(action: 'initiate' | 'terminate', peer: string, tunnel: string): Promise<void> {
  lastAction = { text: `${action} ${peer}/${tunnel}…`, ok: true };
  requestRefresh();
  try {
    const answer = await request('POST', apiPath`/v1/vpn/peers/${peer}/tunnels/${tunnel}/${action}`);
    const detail = action === 'initiate' ? (answer.body.initiated ? 'brought up' : 'was up already') : `${answer.body.terminated} CHILD_SA(s) closed`;
    lastAction = { text: `${action} ${peer}/${tunnel}: ${detail}`, ok: true };
  } catch (error) {
    lastAction = { text: `${action} ${peer}/${tunnel} failed: ${error instanceof Error ? error.message : String(error)}`, ok: false };
  }
  requestRefresh();
}

onAction('tunnel-initiate', (b) => control('initiate', b.dataset.peer!, b.dataset.tunnel!));
onAction('tunnel-terminate', (b) => control('terminate', b.dataset.peer!, b.dataset.tunnel!));

let events: AbortController | undefined;

/** Reads the server-sent events until unmount; each event triggers a redraw. Best effort: polling goes on regardless. */
async function watchEvents(): Promise<void> {
  events?.abort();
  const controller = new AbortController();
  events = controller;
  try {
    const response = await fetch('/v1/vpn/events', { headers: { authorization: `Bearer ${session.token() ?? ''}` }, signal: controller.signal, cache: 'no-store' });
    if (!response.ok || !response.body) return;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (/^event: /m.test(value)) requestRefresh();
    }
  } catch {
    // aborted on unmount, or the stream broke: polling still shows the state
  }
}

export const vpnView: View = {
  id: 'vpn',
  title: 'VPN',
  mount() {
    void watchEvents();
  },
  unmount() {
    events?.abort();
    events = undefined;
  },
  async load() {
    let status: { configured: boolean; dataplane: any; charon: any; peers: Peer[] };
    try {
      status = await get('/v1/vpn/status');
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) return html`<p class="muted" id="vpn-unavailable">${error.message}</p>`;
      throw error;
    }
    const at = Date.now();
    const charon = status.charon ?? {};
    return html`<p class="facts">charon ${charon.running ? html`running (pid ${charon.pid}${charon.version ? `, ${charon.version}` : ''})` : 'not running'}
      · restarts ${charon.restarts ?? 0}${status.dataplane ? html` · data plane ${status.dataplane.dataplane} (${status.dataplane.tunnel_interface}, zone ${status.dataplane.zone})` : ''}</p>
    ${lastAction ? html`<p class="${lastAction.ok ? 'notice' : 'error'}" id="vpn-last-action">${lastAction.text}</p>` : ''}
    ${status.configured && status.peers.length ? '' : html`<p class="muted">VPN: not configured.</p>`}
    ${status.peers.map((peer) => html`<section class="peer" data-peer="${peer.name}">
      <h3>${peer.name} ${badge(peer.state)} <small class="muted">${peer.remote ?? ''} ${peer.algorithms ?? ''}${peer.udp_encap ? ' · UDP-encapsulated' : ''}
        ${peer.established_at ? html` · up ${formatDuration((at - Date.parse(peer.established_at)) / 1000)}` : ''}</small></h3>
      <table class="data tunnels"><thead><tr><th>tunnel</th><th>state</th><th>since</th><th>last rekey</th><th class="num">in</th><th class="num">out</th>
        <th class="num">bytes in / out</th><th class="num">packets in / out</th><th>ESP</th><th></th></tr></thead>
      <tbody>${peer.tunnels.map((t) => {
        // tunnel counters come from its SAs: timestamps are the poll's (vpn status is read live, not cached)
        const r = rates.update(`vpn:${peer.name}/${t.name}`, at, { in: t.bytes_in, out: t.bytes_out });
        return html`<tr data-tunnel="${t.name}" data-state="${t.state}">
          <td><strong>${t.name}</strong></td><td class="tunnel-state">${badge(t.state)}</td><td>${formatTime(t.established_at)}</td><td>${formatTime(t.last_rekey)}</td>
          <td class="num in-rate">${formatBitRate(r.in)}</td><td class="num out-rate">${formatBitRate(r.out)}</td>
          <td class="num">${formatBytes(t.bytes_in)} / ${formatBytes(t.bytes_out)}</td><td class="num">${formatCount(t.packets_in)} / ${formatCount(t.packets_out)}</td>
          <td>${t.sas[0]?.algorithms ?? ''}</td>
          <td><button type="button" data-action="tunnel-initiate" data-peer="${peer.name}" data-tunnel="${t.name}" data-needs="operate">Initiate</button>
            <button type="button" data-action="tunnel-terminate" data-peer="${peer.name}" data-tunnel="${t.name}" data-needs="operate">Terminate</button></td></tr>`;
      })}</tbody></table></section>`)}`;
  },
};
