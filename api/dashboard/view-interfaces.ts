// Interfaces with live rates: GET /v1/status gives each kernel interface's
// byte and packet counters and when they were read; the rates are the
// difference between two polls. Also conntrack's fill, the hostname, and
// what the machine lacks (capabilities.missing, as `junction doctor` says).
import { get } from './api.js';
import { html } from './html.js';
import { badge, type View } from './dom.js';
import { RateTracker, formatBitRate, formatBytes, formatCount, formatPacketRate } from './format.js';

interface InterfaceStatus {
  name: string;
  configured: boolean;
  role?: string;
  zone?: string;
  state: string;
  mtu: number;
  addresses: string[];
  rx_bytes?: number;
  tx_bytes?: number;
  rx_packets?: number;
  tx_packets?: number;
}

const rates = new RateTracker();

export const interfacesView: View = {
  id: 'interfaces',
  title: 'Interfaces',
  async load() {
    const status = await get('/v1/status');
    const at = Date.parse(status.collected_at);
    const interfaces: InterfaceStatus[] = status.interfaces ?? [];
    rates.keepOnly(interfaces.map((i) => `if:${i.name}`), 'if:');
    const conntrack = status.conntrack ?? {};
    const missing: Array<{ id: string; message: string }> = status.capabilities?.missing ?? [];
    return html`${missing.length ? html`<ul class="warnings" id="missing-requirements">${missing.map((m) => html`<li><code>${m.id}</code> ${m.message}</li>`)}</ul>` : ''}
    <p class="facts">Host <strong>${status.system?.hostname ?? '–'}</strong> · revision ${status.revision ?? 'none'}
      · conntrack ${formatCount(conntrack.count ?? undefined)} of ${formatCount(conntrack.max ?? undefined)}</p>
    <table class="data" id="interfaces-table">
      <thead><tr><th>interface</th><th>state</th><th>role / zone</th><th>addresses</th><th>MTU</th>
        <th class="num">rx rate</th><th class="num">tx rate</th><th class="num">rx pkt/s</th><th class="num">tx pkt/s</th><th class="num">rx total</th><th class="num">tx total</th></tr></thead>
      <tbody>${interfaces.map((i) => {
        const r = rates.update(`if:${i.name}`, at, { rx: i.rx_bytes, tx: i.tx_bytes, rxp: i.rx_packets, txp: i.tx_packets });
        return html`<tr data-interface="${i.name}">
          <td><strong>${i.name}</strong>${i.configured ? '' : html` <small class="muted">(not configured)</small>`}</td>
          <td>${badge(i.state)}</td><td>${i.role ?? ''}${i.zone ? html` / ${i.zone}` : ''}</td>
          <td>${i.addresses.map((a) => html`<code>${a}</code> `)}</td><td>${i.mtu}</td>
          <td class="num rx-rate">${formatBitRate(r.rx)}</td><td class="num tx-rate">${formatBitRate(r.tx)}</td>
          <td class="num">${formatPacketRate(r.rxp)}</td><td class="num">${formatPacketRate(r.txp)}</td>
          <td class="num">${formatBytes(i.rx_bytes)}</td><td class="num">${formatBytes(i.tx_bytes)}</td></tr>`;
      })}</tbody>
    </table>
    <p class="muted">Rates are computed here from two readings of the kernel's counters (${interfaces.length} interfaces).</p>`;
  },
};
