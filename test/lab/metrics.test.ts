// GET /metrics for real: `junction serve` in the lab's router namespace,
// scraped over TCP from lab namespaces while lab hosts send traffic through
// the router. The interface, rule, policy-default and NAT counters move;
// readings are reused within the max age however often the endpoint is
// scraped; only a token or an allow-listed address may read it; every
// answer passes the strict line check of the text format.
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressing } from '../lab-kit/topology.js';
import { ping, tcpConnect, tcpListen } from '../lab-kit/traffic.js';
import type { LabRole } from '../lab-kit/topology.js';
import { parseExposition, type Exposition } from '../support/prometheus-text.js';
import { requireRoot, uniquePrefix, withLab } from './support/lab-fixture.js';
import { startJunction, type RunningJunction } from './support/junction.js';

const root = requireRoot();
const { vpcs, internet, ccnn } = addressing;
const demo = readFileSync(fileURLToPath(new URL('../lab-kit/demo.yaml', import.meta.url)), 'utf8');
const MAX_AGE_S = 2;
const BURST = 50;

// HTTP GETs from inside a namespace, one after the other (node is there; curl need not be): one JSON line each.
const GET_SCRIPT = `
const [url, count, token] = process.argv.slice(1);
const once = () => new Promise((resolve, reject) => {
  require('node:http').get(url, { headers: token ? { authorization: 'Bearer ' + token } : {}, timeout: 5000 }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => (body += c));
    res.on('end', () => resolve({ status: res.statusCode, contentType: res.headers['content-type'] || '', body }));
  }).on('error', reject);
});
(async () => { for (let i = 0; i < Number(count); i++) process.stdout.write(JSON.stringify(await once()) + '\\n'); })().catch((e) => { console.error(String(e)); process.exit(1); });
`;

interface Answer { status: number; contentType: string; body: string }

describe.skipIf(!root.isRoot)('GET /metrics in the lab', () => {
  const lab = withLab({ prefix: uniquePrefix('m') }, root.isRoot);
  let junction: RunningJunction;
  let readToken: string;

  /** `count` GETs of url from a namespace, back to back. */
  async function getMany(from: LabRole, url: string, count: number, token?: string): Promise<Answer[]> {
    const result = await lab().exec(from, ['timeout', '20', process.execPath, '-e', GET_SCRIPT, url, String(count), ...(token ? [token] : [])], { timeoutMs: 25_000 });
    if (result.code !== 0) throw new Error(`GET ${url} from ${from} failed: ${result.stderr}`);
    return result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Answer);
  }
  const get = async (from: LabRole, url: string, token?: string) => (await getMany(from, url, 1, token))[0]!;

  /** A scrape as Prometheus would make it: from the allow-listed pod network gateway, no token. */
  async function scrape(): Promise<Exposition> {
    const answer = await get('ccnn', `http://${ccnn.router}:8080/metrics`);
    expect(answer.status, answer.body).toBe(200);
    return parseExposition(answer.body);
  }

  beforeAll(async () => {
    junction = await startJunction(lab(), { listen: '0.0.0.0:8080', args: ['--metrics-allow', `${ccnn.gateway}/32`, '--metrics-max-age', String(MAX_AGE_S)] });
    const put = await junction.api('PUT', '/v1/config?comment=demo', demo, { contentType: 'application/yaml' });
    expect(put.status, put.text).toBe(200);
    const created = await junction.api('POST', '/v1/tokens', { name: 'prometheus', scope: 'read' });
    expect(created.status, created.text).toBe(201);
    readToken = created.body.token;
  });

  afterAll(async () => {
    await junction?.stop();
    if (junction) rmSync(junction.stateDir, { recursive: true, force: true });
  });

  it('serves an allow-listed scraper without a token, in the text format', async () => {
    const answer = await get('ccnn', `http://${ccnn.router}:8080/metrics`);
    expect(answer.status).toBe(200);
    expect(answer.contentType).toMatch(/^text\/plain;/);
    const m = parseExposition(answer.body);
    expect(m.value('junction_build_info', {})).toBe(1);
    expect(m.value('junction_firewall_loaded')).toBe(1);
    expect(m.value('junction_conntrack_limit')).toBeGreaterThan(0);
    expect(m.all('junction_metrics_collector_up').filter((s) => s.value !== 1)).toEqual([]);
    expect(m.value('junction_interface_up', { interface: 'vpc0' })).toBe(1);
  });

  it('refuses a scrape without a token from anywhere else, and answers a read token there', async () => {
    const refused = await get('router', 'http://127.0.0.1:8080/metrics');
    expect(refused.status).toBe(401);
    expect(refused.body).not.toMatch(/junction_/);
    const withToken = await get('router', 'http://127.0.0.1:8080/metrics', readToken);
    expect(withToken.status).toBe(200);
    expect(parseExposition(withToken.body).types.get('junction_interface_bytes_total')).toBe('counter');
    // the Unix socket is no exception: a token there too
    expect((await junction.api('GET', '/metrics', undefined, { token: null })).status).toBe(401);
    expect((await junction.api('GET', '/metrics')).status).toBe(200);
  });

  it('sees interface, rule, policy-default and NAT counters move with traffic, reading the kernel at most once per max age', async () => {
    const before = await scrape();
    const vpc0In = (m: Exposition) => m.value('junction_interface_bytes_total', { interface: 'vpc0', direction: 'receive' }) ?? -1;
    const rulePackets = (m: Exposition) => m.value('junction_firewall_rule_packets_total', { policy: 'a-to-b', rule: 'a-to-db' }) ?? -1;
    const defaultPackets = (m: Exposition) => m.value('junction_firewall_policy_default_packets_total', { policy: 'a-to-b' }) ?? -1;
    const ruleBytes = (m: Exposition) => m.value('junction_firewall_rule_bytes_total', { policy: 'a-to-b', rule: 'a-to-db' }) ?? -1;
    const natPackets = (m: Exposition) => m.value('junction_nat_packets_total', { kind: 'egress', id: 'vpcs-out', hook: 'postrouting' }) ?? -1;
    expect(vpc0In(before)).toBeGreaterThanOrEqual(0);
    expect(rulePackets(before)).toBeGreaterThanOrEqual(0);

    const db = await tcpListen(lab(), 'b1', 5432);
    const web = await tcpListen(lab(), 'inet', 9000);
    // background traffic for the whole test: a1 pings the internet host (NAT egress) five times a second, at most 15 s
    const pinger = lab().spawn('a1', ['ping', '-q', '-c', '75', '-i', '0.2', '-W', '1', internet.host]);
    try {
      for (let i = 0; i < 5; i++) expect(await tcpConnect(lab(), 'a1', vpcs.b.hosts.b1, 5432)).toBe(true); // rule a-to-db
      expect(await tcpConnect(lab(), 'a2', internet.host, 9000)).toBe(true); // NAT egress
      expect((await ping(lab(), 'a1', vpcs.b.hosts.b1, { count: 2, timeoutS: 1 })).reachable).toBe(false); // a-to-b default drop

      // scraped in a burst while the ping runs: the kernel is read at most once per max age; within one reading the values do not change, they only age
      const started = Date.now();
      const answers = await getMany('ccnn', `http://${ccnn.router}:8080/metrics`, BURST);
      const burstS = (Date.now() - started) / 1000;
      expect(answers.every((a) => a.status === 200)).toBe(true);
      const burst = answers.map((a) => parseExposition(a.body));
      const collections = burst.map((m) => m.value('junction_metrics_collections_total')!);
      const extra = collections[BURST - 1]! - collections[0]!;
      console.log(`${BURST} scrapes in ${burstS.toFixed(2)} s read the kernel and daemons ${extra} more time(s) (max age ${MAX_AGE_S} s)`);
      expect(extra).toBeLessThanOrEqual(Math.ceil(burstS / MAX_AGE_S));
      for (const m of burst) expect(m.value('junction_metrics_age_seconds')).toBeLessThanOrEqual(MAX_AGE_S + burstS);
      const sameReading = burst.filter((m) => m.value('junction_metrics_collections_total') === collections[0]);
      if (sameReading.length > 1) {
        expect(new Set(sameReading.map(vpc0In)).size).toBe(1);
        const ages = sameReading.map((m) => m.value('junction_metrics_age_seconds')!);
        expect(ages[ages.length - 1]).toBeGreaterThan(ages[0]!);
      }

      // a fresh reading (bounded wait) shows the traffic
      let after = burst[burst.length - 1]!;
      const deadline = Date.now() + 4 * MAX_AGE_S * 1000;
      while (Date.now() < deadline && !(rulePackets(after) >= rulePackets(before) + 5 && natPackets(after) > natPackets(before) && defaultPackets(after) > defaultPackets(before))) {
        await new Promise((r) => setTimeout(r, 500));
        after = await scrape();
      }
      console.log(`one reading of the kernel and daemons took ${after.value('junction_metrics_collect_duration_seconds')} s`);
      console.log(`vpc0 received ${vpc0In(after) - vpc0In(before)} bytes; rule a-to-db +${rulePackets(after) - rulePackets(before)} packets; a-to-b default +${defaultPackets(after) - defaultPackets(before)}; NAT vpcs-out +${natPackets(after) - natPackets(before)}`);
      expect(vpc0In(after)).toBeGreaterThan(vpc0In(before));
      expect(rulePackets(after)).toBeGreaterThanOrEqual(rulePackets(before) + 5); // one new connection each (replies are established)
      expect(ruleBytes(after)).toBeGreaterThan(ruleBytes(before));
      expect(defaultPackets(after)).toBeGreaterThanOrEqual(defaultPackets(before) + 2);
      expect(natPackets(after)).toBeGreaterThan(natPackets(before));
      expect(after.value('junction_conntrack_entries')).toBeGreaterThan(0);
      // the commit that loaded the demo, and the revision it made
      expect(after.value('junction_commits_total', { source: 'api', outcome: 'applied' })).toBe(1);
      expect(after.value('junction_revision')).toBe(1);
    } finally {
      pinger.kill('SIGTERM');
      await Promise.all([db.close(), web.close(), pinger.exited]);
    }
  });
});
