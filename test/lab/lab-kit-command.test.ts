// `npm run lab` twice keeps the running lab (state, revisions, token), and
// `npm run lab:restart` restarts Junction alone (the recorded pid) on the
// same state dir: the namespaces, revisions, token and TLS certificate stay.
// The banner says how to reach the API over HTTPS, and that works.
import { X509Certificate } from 'node:crypto';
import { readFileSync, readlinkSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { labDown, labRestart, labStateDir, labUp } from '../lab-kit/command.js';
import { Lab } from '../lab-kit/lab.js';
import { apiRequest, targetFromStateDir } from '../../appliance/main/api-client.js';
import { requireRoot, uniquePrefix, namespacesWithPrefix } from './support/lab-fixture.js';
import { alive } from '../unit/support/processes.js';

const root = requireRoot();

describe.skipIf(!root.isRoot)('lab up / restart / down', () => {
  const prefix = uniquePrefix('k');
  const stateDir = labStateDir(prefix);
  const token = () => readFileSync(`${stateDir}/api-token`, 'utf8').trim();
  const pid = () => Number(readFileSync(`${stateDir}/junction.pid`, 'utf8'));
  const api = (method: string, path: string, body?: unknown) => apiRequest<any>(targetFromStateDir(stateDir), method, path, body);
  const cert = `${stateDir}/tls/self-signed.crt`;
  const fingerprint = () => new X509Certificate(readFileSync(cert)).fingerprint256;
  /** runs a lab command and returns what it printed */
  async function printed(run: () => Promise<void>): Promise<string> {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
    try {
      await run();
    } finally {
      spy.mockRestore();
    }
    return out.join('');
  }

  afterAll(async () => {
    await labDown({ prefix }).catch(() => undefined);
    await Lab.cleanupStale(prefix);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('up: a fresh lab with the demo at revision 1, Junction in a UTS namespace of its own', async () => {
    const banner = await printed(() => labUp({ prefix }));
    expect(banner).toMatch(/is up with the demo config .* at revision 1/);
    expect(banner).toContain(`API token   ${token()}`);
    expect(banner).toContain(`https://100.64.0.2:8080/v1 from ${prefix}-ccnn`);
    expect(banner).toContain(`SHA-256 ${fingerprint()}`);
    // The banner's HTTPS example, run as printed (from the ccnn namespace).
    const example = banner.split('\n').find((line) => line.includes('curl -s --cacert'))!.trim();
    const [, ns, command] = /^ip netns exec (\S+) (curl .*)$/.exec(example)!;
    expect(ns).toBe(`${prefix}-ccnn`);
    const config = await (await Lab.attach(prefix)).exec('ccnn', ['sh', '-c', command]);
    expect(config.code, config.stderr).toBe(0);
    expect(config.stdout).toContain('name: ccnn0');
    expect(readlinkSync(`/proc/${pid()}/ns/uts`)).not.toBe(readlinkSync('/proc/self/ns/uts'));
    expect((await api('GET', '/v1/revisions')).body.current).toBe(1);
  });

  it('up again on the running lab: nothing wiped (revision 2 stays, same token, same Junction), and it says so', async () => {
    const config = (await api('GET', '/v1/config')).body;
    expect((await api('PUT', '/v1/config?comment=mine', config)).status).toBe(200);
    const before = { token: token(), pid: pid(), namespaces: await namespacesWithPrefix(prefix) };
    const banner = await printed(() => labUp({ prefix }));
    expect(banner).toMatch(/already running: nothing was changed\. Its state \(revision 2\) and API token are kept/);
    expect(banner).toContain(`API token   ${before.token}`);
    expect({ token: token(), pid: pid(), namespaces: await namespacesWithPrefix(prefix) }).toEqual(before);
    expect((await api('GET', '/v1/revisions')).body.current).toBe(2);
  });

  it('restart: a new Junction on the same state dir; the old one (and only it) is gone; the lab stays', async () => {
    const before = { token: token(), pid: pid(), namespaces: await namespacesWithPrefix(prefix), fingerprint: fingerprint() };
    const out = await printed(() => labRestart({ prefix }));
    expect(fingerprint()).toBe(before.fingerprint);
    expect(out).toContain(`SHA-256 ${before.fingerprint}`);
    expect(out).toMatch(new RegExp(`Stopped Junction \\(pid ${before.pid}\\) and started it again \\(pid ${pid()}\\).*revision 2 and the API token are kept`));
    expect(pid()).not.toBe(before.pid);
    expect(alive(before.pid)).toBe(false);
    expect(alive(pid())).toBe(true);
    expect(token()).toBe(before.token);
    expect(await namespacesWithPrefix(prefix)).toEqual(before.namespaces);
    expect((await api('GET', '/v1/revisions')).body.current).toBe(2);
    expect((await api('GET', '/v1/status')).body.revision).toBe(2);
  });

  it('down: everything goes; restart then says there is no lab', async () => {
    const last = pid();
    await printed(() => labDown({ prefix }));
    expect(await namespacesWithPrefix(prefix)).toEqual([]);
    expect(alive(last)).toBe(false);
    await expect(labRestart({ prefix })).rejects.toThrow(/no lab .* is running; start it with: npm run lab/);
  });
});
