// The dashboard in a real browser: Debian's headless Chromium, driven by
// playwright-core, against the real `junction serve` in the lab with a real
// IPsec peer (an on-prem charon) and a real BGP speaker (an on-prem bird).
// Chromium runs inside the router namespace (`ip netns exec`) and talks to
// Junction on 127.0.0.1:8080 there, so nothing goes from the root namespace
// to a lab address. Covers: login with a token (kept out of the URL), live
// interface rates, adding a rule with the plan shown before the commit
// (then commit-confirm) and a refused one, a tunnel going down and up from
// the page with its throughput, BGP neighbors and routes, NAT, DHCP, a merge
// patch's plan, a revision's diff, a rollback, that names
// from users are escaped, and that the page runs under its CSP. Screenshots
// go to test-artifacts/dashboard/.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { chromium, type Browser, type Page } from 'playwright-core';
import { addressing } from '../lab-kit/topology.js';
import { ping, tcpConnect } from '../lab-kit/traffic.js';
import { waitFor } from '../lab-kit/wait.js';
import { CharonProcess } from '../../appliance/subsystems/vpn/charon-process.js';
import { requireRoot, uniquePrefix, withLab } from './support/lab-fixture.js';
import { startJunction, type RunningJunction } from './support/junction.js';
import { CHARON_TOOLS, requireTools } from './support/tools.js';
import { JUNCTION_ASN, ONPREM_ASN, OnpremBird } from './support/onprem-bird.js';

const root = requireRoot();
const CHROMIUM = '/usr/bin/chromium';
requireTools('dashboard', root.isRoot, [
  ...CHARON_TOOLS,
  { program: 'swanctl', pkg: 'strongswan-swanctl' },
  { program: 'bird', pkg: 'bird2' },
  { program: CHROMIUM, pkg: 'chromium' },
]);

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/dashboard/', import.meta.url));
const { vpcs, onprem, internet } = addressing;
const PSK = 'dashboard-lab-psk-0123456789abcdef';
/** a comment an operator could type: must show as text, never run */
const XSS = '<img src=x onerror=window.__xss=1>';
const demo = readFileSync(fileURLToPath(new URL('../lab-kit/demo.yaml', import.meta.url)), 'utf8');

/** The demo plus a vpn zone and policy, a Direct Connect link with BGP, and one IPsec peer whose tunnel only the operator starts and stops. */
function labDocument(): Record<string, any> {
  const doc = parseYaml(demo) as Record<string, any>;
  doc.interfaces.push({ name: 'dx0', role: 'dx', zone: 'dx', addresses: [`${onprem.dxRouter}/30`] });
  doc.zones.push({ name: 'vpn', description: 'IPsec tunnels' }, { name: 'dx', description: 'Direct Connect' });
  doc.firewall.policies.push({ name: 'a-to-vpn', from: 'vpc-a', to: 'vpn', rules: [{ id: 'a-to-onprem', action: 'accept' }] });
  doc.bgp = {
    asn: JUNCTION_ASN,
    router_id: onprem.dxRouter,
    neighbors: [{ id: 'dx-1', address: onprem.dxOnprem, remote_asn: ONPREM_ASN, interface: 'dx0', bfd: { interval_ms: 300, multiplier: 3 }, import: { prefixes: [{ prefix: onprem.lanSubnet }, { prefix: '10.50.0.0/16', le: 24 }] } }],
  };
  doc.vpn = {
    peers: [{
      name: 'onprem',
      remote: onprem.wan,
      auth: { method: 'psk', psk: PSK },
      dpd_delay_s: 2,
      // start_action/close_action none: the tunnel goes down and stays down until the page initiates it
      tunnels: [{ name: 'lan', local_subnets: ['10.1.0.0/25'], remote_subnets: [onprem.lanSubnet], start_action: 'none', close_action: 'none' }],
    }],
  };
  return doc;
}

describe.skipIf(!root.isRoot)('dashboard in headless Chromium (lab)', () => {
  const prefix = uniquePrefix('d');
  const lab = withLab({ prefix, onprem: true }, root.isRoot);
  const work = root.isRoot ? mkdtempSync(path.join(tmpdir(), 'jndash-')) : '';
  let junction: RunningJunction;
  let onpremCharon: CharonProcess;
  let onpremBird: OnpremBird;
  let browser: Browser;
  let page: Page;
  const consoleProblems: string[] = [];
  const failedRequests: string[] = [];
  const requestedPaths = new Set<string>();
  const shots: string[] = [];

  const api = (method: string, url: string, body?: unknown) => junction.api(method, url, body);
  const token = () => readFileSync(path.join(junction.stateDir, 'api-token'), 'utf8').trim();
  const swanctl = (...args: string[]) => lab().exec('onprem', ['swanctl', ...args, '--uri', `unix://${onpremCharon.socketPath}`], { timeoutMs: 30_000 });
  const tunnelState = async () => (await api('GET', '/v1/vpn/status')).body.peers?.[0]?.tunnels?.find((t: any) => t.name === 'lan')?.state;
  const currentRevision = async () => (await api('GET', '/v1/revisions?limit=1')).body.current as number;
  const rulesOf = async (policy: string) => ((await api('GET', `/v1/firewall/policies/${policy}/rules`)).body.items as Array<{ id: string }>).map((r) => r.id);

  async function shot(name: string): Promise<void> {
    const file = path.join(ARTIFACTS, `${String(shots.length + 1).padStart(2, '0')}-${name}.png`);
    await page.evaluate(() => window.scrollTo(0, 0)); // the sticky header would cover what is scrolled to
    await page.screenshot({ path: file, fullPage: true });
    shots.push(file);
  }

  async function open(view: string, ready: string): Promise<void> {
    await page.click(`#nav a[data-view="${view}"]`);
    await page.waitForSelector(ready, { timeout: 15_000 });
  }

  beforeAll(async () => {
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    junction = await startJunction(lab());
    onpremBird = new OnpremBird(lab());
    await onpremBird.start({ bfdIntervalMs: 300, announce: ['10.50.1.0/24'] });
    onpremCharon = new CharonProcess({ stateDir: path.join(work, 'onprem-charon'), dataplane: 'libipsec', netns: lab().nsName('onprem'), restartBackoff: { initialMs: 200, maxMs: 1000 } });
    await onpremCharon.start();
    const put = await api('PUT', '/v1/config?comment=lab', labDocument());
    expect(put.status, put.text).toBe(200);
    const remote = await api('GET', '/v1/vpn/peers/onprem/remote-config?format=strongswan');
    expect(remote.status, remote.text).toBe(200);
    const conf = path.join(work, 'swanctl.conf');
    writeFileSync(conf, remote.text, { mode: 0o600 });
    const load = await swanctl('--load-all', '--noprompt', '--file', conf);
    expect(load.code, load.stdout + load.stderr).toBe(0);
    await waitFor('tunnel lan up', async () => {
      if ((await tunnelState()) === 'up') return true;
      await api('POST', '/v1/vpn/peers/onprem/tunnels/lan/initiate?timeout_ms=5000');
      return (await tunnelState()) === 'up';
    }, 40_000, 500);

    // Chromium in the router namespace: the wrapper checks the namespace exists (the lab's safety rule) and execs into it.
    const wrapper = path.join(work, 'chromium-in-router');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${lab().assertNamespace('router')} ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    browser = await chromium.launch({ executablePath: wrapper, timeout: 60_000 });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    // HTTP errors are checked by URL below (Chromium logs each as "Failed to load resource"); everything else is a problem
    page.on('console', (m) => {
      if ((m.type() === 'error' && !m.text().startsWith('Failed to load resource')) || /Content.Security.Policy|Refused to/i.test(m.text())) consoleProblems.push(m.text());
    });
    page.on('request', (r) => requestedPaths.add(new URL(r.url()).pathname));
    page.on('response', (r) => {
      if (r.status() >= 400) failedRequests.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
    });
    page.on('pageerror', (e) => consoleProblems.push(`page error: ${e.message}`));
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await onpremCharon?.stop().catch(() => undefined);
    await onpremBird?.stop().catch(() => undefined);
    await junction?.stop();
    if (junction) rmSync(junction.stateDir, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
    if (shots.length) console.log(`[dashboard] ${shots.length} screenshots saved as test artifacts in ${ARTIFACTS}`);
  });

  it('serves the page with its CSP; a wrong token is refused; a right one logs in and stays out of the URL', async () => {
    const response = await page.goto('http://127.0.0.1:8080/');
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    await page.fill('#token', 'not-a-token');
    await page.click('#login-form button[type=submit]');
    await expect.poll(() => page.textContent('#login-error')).toMatch(/invalid token/);
    await shot('login-refused');
    await page.fill('#token', token());
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#interfaces-table');
    expect(page.url()).not.toContain(token());
    expect(await page.evaluate(() => sessionStorage.getItem('junction.token'))).toBe(token());
    expect(await page.isVisible('#login')).toBe(false);
  });

  it('shows interfaces with live rates computed from the counters', async () => {
    // traffic from a VPC host through the router, while the page polls
    const traffic = ping(lab(), 'a1', internet.host, { count: 60, intervalS: 0.1, size: 1200, timeoutS: 10 });
    const rate = await waitFor('a non-zero rx rate on vpc0', async () => {
      const text = (await page.textContent('tr[data-interface="vpc0"] .rx-rate'))?.trim();
      return text && text !== '–' && !/^0 /.test(text) ? text : undefined;
    }, 15_000, 250);
    await traffic;
    console.log(`[dashboard] vpc0 rx rate shown while a1 pinged the internet host: ${rate}`);
    expect(rate).toMatch(/bit\/s$/);
    expect(await page.textContent('tr[data-interface="vpc0"]')).toContain(`${vpcs.a.gateway}/24`);
    await shot('interfaces');
  });

  it('adds a rule: the plan shows first and nothing is applied until commit; commit with confirm, then confirm', async () => {
    const before = await currentRevision();
    await open('firewall', '#add-rule-form');
    await page.waitForSelector('section.policy[data-policy="a-to-b"]');
    await page.selectOption('#add-rule-form select[name=policy]', 'a-to-b');
    await page.fill('#add-rule-form input[name=id]', 'a-to-web');
    await page.fill('#add-rule-form input[name=destination]', vpcs.b.hosts.b2);
    await page.fill('#add-rule-form input[name=comment]', XSS);
    // bad input first: the API's problem, with its document path, shows in the panel and nothing is applied
    await page.fill('#add-rule-form input[name=services]', 'tcp/99999');
    await page.click('#add-rule-form button[type=submit]');
    await page.waitForSelector('#change-panel .error');
    const refusal = await page.textContent('#change-panel .error');
    expect(refusal).toMatch(/^4\d\d /);
    expect(refusal).toContain('/firewall/policies/0/rules/1');
    await shot('rule-refused');
    await page.fill('#add-rule-form input[name=services]', 'tcp/80, tcp/443');
    await page.click('#add-rule-form button[type=submit]');
    await page.waitForSelector('#change-panel .plan');
    const plan = await page.textContent('#change-panel');
    expect(plan).toContain('/firewall/policies/0/rules/1'); // config level: the new rule by document path
    expect(plan).toMatch(/firewall: \+\d+/); // kernel level: nft lines it adds
    expect(plan).toContain(vpcs.b.hosts.b2);
    await shot('rule-plan');
    // a dry run: no revision, no rule
    expect(await currentRevision()).toBe(before);
    expect(await rulesOf('a-to-b')).not.toContain('a-to-web');

    await page.fill('#commit-form input[name=comment]', 'web to b2');
    await page.fill('#commit-form input[name=confirm_timeout]', '300');
    await page.click('#commit-button');
    await page.waitForSelector('#change-panel .commit-result');
    expect(await page.textContent('#change-panel')).toContain(`Committed revision ${before + 1}`);
    await page.waitForSelector('#confirm-banner:not([hidden])');
    expect(await page.textContent('#confirm-banner')).toContain(`reverts to revision ${before}`);
    await page.waitForSelector('tr[data-rule="a-to-web"]');
    await shot('rule-committed-awaiting-confirm');
    expect((await api('GET', '/v1/commit')).body.pending_confirm.revision).toBe(before + 1);
    await page.click('#confirm-banner [data-action="commit-confirm"]');
    await page.waitForSelector('#confirm-banner', { state: 'hidden' });
    expect((await api('GET', '/v1/commit')).body.pending_confirm).toBeNull();
    expect(await rulesOf('a-to-b')).toEqual(['a-to-db', 'a-to-web']);

    // the comment is shown as text and did not become an element
    expect(await page.textContent('tr[data-rule="a-to-web"]')).toContain(XSS);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    // each rule's hit counter is on the page, and moves with traffic the rule accepts
    const hitsBefore = Number(await page.textContent('tr[data-rule="a-to-db"] .hits'));
    expect(hitsBefore).toBeGreaterThanOrEqual(0);
    await tcpConnect(lab(), 'a1', vpcs.b.hosts.b1, 5432, 1500); // the SYN counts, whether b1 listens or not
    const hitsAfter = await waitFor('a-to-db hits on the page', async () => {
      const n = Number(await page.textContent('tr[data-rule="a-to-db"] .hits'));
      return n > hitsBefore ? n : undefined;
    }, 10_000, 250);
    console.log(`[dashboard] rule a-to-db hits on the page: ${hitsBefore} -> ${hitsAfter} after one connection attempt from a1 to b1:5432`);

    // a delete plans too, and Discard leaves the rule
    await page.click('tr[data-rule="a-to-web"] [data-action="delete-rule"]');
    await page.waitForSelector('#change-panel .plan');
    expect(await page.textContent('#change-panel table.config-diff')).toContain('/firewall/policies/0/rules/1');
    await page.click('#discard-button');
    await page.waitForSelector('#change-panel', { state: 'hidden' });
    expect(await rulesOf('a-to-b')).toEqual(['a-to-db', 'a-to-web']);
  });

  it('watches the tunnel go down and up: from its buttons, with throughput, and when the API is used elsewhere', async () => {
    await open('vpn', 'tr[data-tunnel="lan"][data-state="up"]');
    await shot('tunnel-up');
    await page.click('tr[data-tunnel="lan"] [data-action="tunnel-terminate"]');
    await page.waitForSelector('tr[data-tunnel="lan"][data-state="down"]', { timeout: 20_000 });
    expect(await tunnelState()).toBe('down');
    expect(await page.textContent('#vpn-last-action')).toMatch(/terminate onprem\/lan: \d+ CHILD_SA/);
    await shot('tunnel-down');
    await page.click('tr[data-tunnel="lan"] [data-action="tunnel-initiate"]');
    await page.waitForSelector('tr[data-tunnel="lan"][data-state="up"]', { timeout: 30_000 });
    expect(await tunnelState()).toBe('up');
    // throughput: a VPC host pings the on-prem LAN host through the tunnel while the page polls
    const traffic = ping(lab(), 'a1', onprem.lanHost, { count: 60, intervalS: 0.1, size: 1200, timeoutS: 10 });
    const nonZero = (selector: string) => async () => {
      const text = (await page.textContent(selector))?.trim();
      return text && text !== '–' && !/^0 /.test(text) ? text : undefined;
    };
    const out = await waitFor('tunnel out rate', nonZero('tr[data-tunnel="lan"] .out-rate'), 15_000, 250);
    const into = await waitFor('tunnel in rate', nonZero('tr[data-tunnel="lan"] .in-rate'), 15_000, 250);
    expect((await traffic).received).toBeGreaterThan(0);
    console.log(`[dashboard] tunnel lan while a1 pinged the on-prem LAN host: out ${out}, in ${into}`);
    await shot('tunnel-up-again-with-traffic');

    // changes the page did not make show too (event stream and poll): terminate and initiate through the API
    expect(requestedPaths.has('/v1/vpn/events')).toBe(true); // the view follows charon's event stream
    const terminated = await api('POST', '/v1/vpn/peers/onprem/tunnels/lan/terminate');
    expect(terminated.status, terminated.text).toBe(200);
    const sentAt = Date.now();
    await page.waitForSelector('tr[data-tunnel="lan"][data-state="down"]', { timeout: 20_000 });
    console.log(`[dashboard] a terminate through the API showed on the page after ${Date.now() - sentAt} ms (poll every 2000 ms, plus the event stream)`);
    const initiated = await api('POST', '/v1/vpn/peers/onprem/tunnels/lan/initiate');
    expect(initiated.status, initiated.text).toBe(200);
    await page.waitForSelector('tr[data-tunnel="lan"][data-state="up"]', { timeout: 20_000 });
  });

  it('shows the BGP neighbor with its routes, NAT, and DHCP as not configured when the API has none', async () => {
    await open('bgp', '#bgp-neighbors');
    await page.waitForSelector('tr[data-neighbor="dx-1"] .badge.good', { timeout: 40_000 });
    await page.waitForSelector('#bgp-routes', { timeout: 20_000 });
    expect(await page.textContent('#bgp-routes')).toContain('10.50.1.0/24');
    await shot('bgp');
    await open('nat', 'tr[data-nat="web-in"]');
    expect(await page.textContent('tr[data-nat="web-in"]')).toContain('10.1.0.11:80');
    await shot('nat');
    await open('dhcp', '#dhcp-not-configured, #dhcp-leases');
    expect(await page.textContent('#view-live')).toMatch(/not configured|Leases/);
    await shot('dhcp');
  });

  it('plans a merge patch from the Edit view, and Discard applies nothing', async () => {
    const before = await currentRevision();
    await open('edit', '#patch-form');
    await page.fill('#patch-form textarea', '{"system": ');
    await page.click('#patch-form button[type=submit]');
    await page.waitForSelector('#patch-error:not([hidden])');
    expect(await page.textContent('#patch-error')).toMatch(/not JSON/);
    await page.fill('#patch-form textarea', '{"system": {"reconcile_interval_s": 45}}');
    await page.click('#patch-form button[type=submit]');
    await page.waitForSelector('#change-panel .plan');
    const row = await page.textContent('#change-panel table.config-diff');
    expect(row).toContain('/system/reconcile_interval_s');
    expect(row).toMatch(/30\s*45/);
    await shot('patch-plan');
    await page.click('#discard-button');
    await page.waitForSelector('#change-panel', { state: 'hidden' });
    expect(await currentRevision()).toBe(before);
    expect((await api('GET', '/v1/config')).body.system.reconcile_interval_s).toBe(30);
  });

  it("shows a revision's config diff, and rolls back with the plan first", async () => {
    const withRule = await currentRevision();
    const target = withRule - 1;
    await open('revisions', `tr[data-revision="${withRule}"]`);
    await page.click(`tr[data-revision="${withRule}"] [data-action="revision-diff"]`);
    await page.waitForSelector('#revision-diff table.config-diff');
    expect(await page.textContent('#revision-diff')).toContain('/firewall/policies/0/rules/1');
    await shot('revision-diff');

    await page.click(`tr[data-revision="${target}"] [data-action="revision-rollback"]`);
    await page.waitForSelector('#change-panel .plan');
    const plan = await page.textContent('#change-panel');
    expect(plan).toContain(`roll back to revision ${target}`);
    expect(plan).toContain('/firewall/policies/0/rules/1');
    expect(await currentRevision()).toBe(withRule); // still only a plan
    await shot('rollback-plan');
    await page.click('#commit-button');
    await page.waitForSelector('#change-panel .commit-result');
    expect(await page.textContent('#change-panel')).toContain(`Committed revision ${withRule + 1}`);
    await page.waitForSelector(`tr.current[data-revision="${withRule + 1}"]`);
    expect(await rulesOf('a-to-b')).toEqual(['a-to-db']);
    const revision = (await api('GET', `/v1/revisions/${withRule + 1}`)).body;
    expect(revision).toMatchObject({ source: 'rollback', comment: `rollback to revision ${target}` });
    await shot('rolled-back');
  });

  it('a read-only token sees every view and none of the controls it may not use', async () => {
    const created = await api('POST', '/v1/tokens', { name: 'viewer', scope: 'read' });
    expect(created.status, created.text).toBe(201);
    const logIn = async (secret: string) => {
      await page.click('[data-action="logout"]');
      await page.waitForSelector('#login:not([hidden])');
      await page.evaluate(() => (location.hash = '#interfaces'));
      await page.fill('#token', secret);
      await page.click('#login-form button[type=submit]');
      await page.waitForSelector('#interfaces-table');
    };
    await logIn(created.body.token);
    expect(await page.textContent('#whoami')).toContain('viewer (read, read-only)');
    // each view's controls are in the page (so this can fail) and none is shown
    const controls: Record<string, string> = {
      firewall: '[data-action="delete-rule"]', vpn: '[data-action="tunnel-initiate"]', bgp: '[data-action="bgp-reset"]',
      revisions: '[data-action="revision-rollback"]', edit: '#patch-form',
    };
    for (const [view, control] of Object.entries(controls)) {
      await page.click(`#nav a[data-view="${view}"]`);
      await page.waitForSelector(control, { state: 'attached', timeout: 15_000 });
      const shown = await page.$$eval('[data-needs]', (all) => all.filter((e) => getComputedStyle(e).display !== 'none').map((e) => e.outerHTML.slice(0, 80)));
      expect(shown, `controls shown to a read token in ${view}`).toEqual([]);
      expect(await page.isVisible(control)).toBe(false);
    }
    await page.click('#nav a[data-view="firewall"]');
    await page.waitForSelector('.needs-admin-note');
    await shot('read-only-firewall');
    // the admin's token shows them again
    await logIn(token());
    await open('firewall', '#add-rule-form');
    expect(await page.textContent('#whoami')).toMatch(/\(admin/);
  });

  it('the OpenAPI UI at /docs works under its own strict policy (same origin as the token)', async () => {
    const docs = await browser.newPage();
    const problems: string[] = [];
    docs.on('console', (m) => {
      if (m.type() === 'error' || /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text());
    });
    docs.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    const response = await docs.goto('http://127.0.0.1:8080/docs/');
    expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    await docs.waitForSelector('.swagger-ui .info .title', { timeout: 20_000 });
    await docs.waitForSelector('.opblock-summary-path[data-path="/v1/config"]', { state: 'attached', timeout: 20_000 });
    await docs.screenshot({ path: path.join(ARTIFACTS, 'docs.png') });
    await docs.close();
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('ran without script errors, CSP violations or HTTP errors but the two expected; Trusted Types are enforced', async () => {
    expect(consoleProblems).toEqual([]);
    // the wrong token at login, and the refused rule's dry run
    expect(failedRequests, failedRequests.join('; ')).toHaveLength(2);
    expect(failedRequests[0]).toBe('401 GET /v1/auth/self');
    expect(failedRequests[1]).toMatch(/^4\d\d POST \/v1\/firewall\/policies\/a-to-b\/rules$/);
    // logging out forgets the token and what was read with it
    await page.click('[data-action="logout"]');
    await page.waitForSelector('#login:not([hidden])');
    expect(await page.evaluate(() => sessionStorage.getItem('junction.token'))).toBeNull();
    expect((await page.textContent('#view-live'))?.trim()).toBe('');
    // and the browser enforces the Trusted Types part: HTML assigned outside the dashboard's policy is refused
    const sink = await page.evaluate(() => {
      try {
        document.createElement('div').innerHTML = '<b>x</b>';
        return 'assigned';
      } catch (error) {
        return String(error);
      }
    });
    expect(sink).toMatch(/TrustedHTML/);
  });
});
