// The dashboard's pure parts: escaping (names come from users, so nothing
// interpolated may become markup), rates from counters, and how a plan and
// a diff read. The browser itself is tested in test/lab/dashboard.test.ts.
import { describe, expect, it } from 'vitest';
import { escapeHtml, html, SafeHtml } from '../../api/dashboard/html.js';
import { RateTracker, formatBitRate, formatBytes, formatDuration } from '../../api/dashboard/format.js';
import { apiPath } from '../../api/dashboard/api.js';
import { leasesPathIn, rowsOf } from '../../api/dashboard/view-dhcp.js';
import { commitResultHtml, configChangesHtml, planHtml, type Plan } from '../../api/dashboard/plan.js';

const ATTACK = `<img src=x onerror=alert(1)>"'\`&`;

describe('html escaping', () => {
  it('escapes every character that could open markup or leave an attribute', () => {
    expect(escapeHtml(ATTACK)).toBe('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&#96;&amp;');
  });

  it('escapes interpolated values, in text and in quoted attributes, and keeps only SafeHtml made by the tag', () => {
    const name = '"><script>alert(1)</script>';
    const out = html`<tr data-rule="${name}"><td>${name}</td>${html`<b>${name}</b>`}</tr>`;
    expect(out).toBeInstanceOf(SafeHtml);
    expect(out.text).not.toContain('<script>');
    expect(out.text).toBe('<tr data-rule="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"><td>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</td><b>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</b></tr>');
  });

  it('a plain string that looks like SafeHtml is still escaped; arrays join; null, undefined and false vanish; 0 stays', () => {
    const forged = { text: '<i>x</i>' };
    expect(html`${forged}`.text).toBe('[object Object]');
    expect(html`${['<a>', html`<b>`]}`.text).toBe('&lt;a&gt;<b>');
    expect(html`${null}${undefined}${false}${0}`.text).toBe('0');
  });
});

describe('API paths', () => {
  it('percent-encodes the names put into a path, so a name cannot add segments or a query', () => {
    expect(apiPath`/v1/vpn/peers/${'a/b?x=1#f'}/tunnels/${'t 1'}/initiate`).toBe('/v1/vpn/peers/a%2Fb%3Fx%3D1%23f/tunnels/t%201/initiate');
    expect(apiPath`/v1/revisions/${7}/diff`).toBe('/v1/revisions/7/diff');
  });
});

describe('DHCP discovery', () => {
  it('finds a lease list under /v1/dhcp in the API description, or nothing', () => {
    const paths = { '/v1/status': { get: {} }, '/v1/dhcp/reservations/{mac}': { get: {} }, '/v1/dhcp/leases': { get: {} } };
    expect(leasesPathIn({ paths })).toBe('/v1/dhcp/leases');
    expect(leasesPathIn({ paths: { '/v1/dhcp/leases': { delete: {} } } })).toBeUndefined();
    expect(leasesPathIn({ paths: { '/v1/status': { get: {} } } })).toBeUndefined();
    expect(leasesPathIn({})).toBeUndefined();
  });

  it('takes the rows from the body or its first list', () => {
    const lease = { mac: '02:00:00:00:00:01', address: '10.1.0.50' };
    expect(rowsOf({ leases: [lease] })).toEqual([lease]);
    expect(rowsOf([lease])).toEqual([lease]);
    expect(rowsOf({ count: 0 })).toEqual([]);
    expect(rowsOf(null)).toEqual([]);
  });
});

describe('rates from counters', () => {
  it('is undefined on the first reading, then the per-second difference', () => {
    const rates = new RateTracker();
    expect(rates.update('if:vpc0', 1000, { rx: 100 })).toEqual({});
    expect(rates.update('if:vpc0', 3000, { rx: 2100 })).toEqual({ rx: 1000 });
  });

  it('keeps the last rate for a repeated (cached) reading, and has none after a counter went backwards', () => {
    const rates = new RateTracker();
    rates.update('t', 0, { in: 0 });
    expect(rates.update('t', 1000, { in: 500 })).toEqual({ in: 500 });
    expect(rates.update('t', 1000, { in: 500 })).toEqual({ in: 500 });
    expect(rates.update('t', 2000, { in: 10 })).toEqual({}); // a new SA: counters restart
    expect(rates.update('t', 3000, { in: 1010 })).toEqual({ in: 1000 });
  });

  it('forgets keys that are gone', () => {
    const rates = new RateTracker();
    rates.update('if:a', 0, { rx: 0 });
    rates.update('if:b', 0, { rx: 0 });
    rates.keepOnly(['if:b'], 'if:');
    expect(rates.update('if:a', 1000, { rx: 10 })).toEqual({});
    expect(rates.update('if:b', 1000, { rx: 10 })).toEqual({ rx: 10 });
  });

  it('formats as people read it', () => {
    expect(formatBitRate(125_000)).toBe('1.00 Mbit/s');
    expect(formatBitRate(undefined)).toBe('–');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1_234_567)).toBe('1.23 MB');
    expect(formatDuration(93_784)).toBe('1d 2h 3m');
    expect(formatDuration(0)).toBe('0s');
  });
});

describe('plans on the page', () => {
  const plan: Plan = {
    changed: true,
    config: [{ op: 'add', path: '/firewall/policies/0/rules/1', after: { id: 'web', action: 'accept', comment: ATTACK } }],
    subsystems: [
      { subsystem: 'firewall', add: [`rule ${ATTACK}`], remove: ['old line'], reordered: false, added: 1, removed: 1, truncated: false },
      { subsystem: 'vpn', add: [], remove: [], reordered: false, added: 0, removed: 0, truncated: false },
    ],
    counts: { configChanges: 1, added: 1, removed: 1 },
  };

  it('shows the config change by path and the kernel lines of the subsystems that change, escaped', () => {
    const text = planHtml(plan).text;
    expect(text).toContain('<code>/firewall/policies/0/rules/1</code>');
    expect(text).toContain('<span class="add">+ rule &lt;img');
    expect(text).toContain('<span class="del">- old line');
    expect(text).toContain('firewall: +1 −1');
    expect(text).not.toContain('vpn:'); // unchanged subsystems are left out
    expect(text).not.toContain('<img');
  });

  it('says so when nothing would change, and when the list was cut', () => {
    expect(planHtml({ ...plan, changed: false, config: [], subsystems: [] }).text).toContain('Applying would change nothing');
    expect(configChangesHtml(plan.config, 250).text).toContain('1 of 250 changes shown');
  });

  it('a commit result names the revision, the pending confirm and what ran', () => {
    const text = commitResultHtml({
      dry_run: false, changed: true, plan, revision: { id: 7 },
      pending_confirm: { revision: 7, revert_to: 6, deadline: new Date().toISOString(), seconds_left: 60 },
      actions: { firewall: ['nft -j -f (2 changes)'] },
    }).text;
    expect(text).toContain('Committed revision 7');
    expect(text).toContain('reverts to revision 6 in 60 s');
    expect(text).toContain('firewall: nft -j -f (2 changes)');
  });
});
