// HTTPS on the API (issue 13, TLS and access) with the real `junction serve
// --tls-self-signed` in the router namespace and real TLS clients (curl,
// openssl s_client, the junction CLI) in the ccnn namespace, through the
// firewall: the certificate is made at start, made again when the first
// commit gives the box its ccnn0 address, and served with the fingerprint
// the log shows; plain HTTP on the port gets 400 tls_required; the Unix
// socket stays plain; `junction token` over HTTPS makes an operate token
// that can reconcile but not commit; a restart reuses the certificate; an
// operator's certificate (openssl req) is served as given, and a key that is
// not the certificate's stops serve before it touches anything.
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressing } from '../lab-kit/topology.js';
import { requireRoot, uniquePrefix, withLab } from './support/lab-fixture.js';
import { startJunction, type RunningJunction } from './support/junction.js';
import { readToken } from '../../appliance/main/api-client.js';

const root = requireRoot();
const demo = readFileSync(fileURLToPath(new URL('../lab-kit/demo.yaml', import.meta.url)), 'utf8');
const CLI = fileURLToPath(new URL('../../dist/appliance/cli.js', import.meta.url));
const PORT = 8443;
const url = (path: string, scheme = 'https') => `${scheme}://${addressing.ccnn.router}:${PORT}${path}`;

/** The fingerprints Junction logged for its certificate, oldest first. */
function loggedFingerprints(stateDir: string): string[] {
  return readFileSync(join(stateDir, 'junction.log'), 'utf8').split('\n').filter((l) => l.includes('"TLS"')).map((l) => JSON.parse(l).fingerprint_sha256 as string);
}

describe.skipIf(!root.isRoot)('HTTPS on the API port, plain on the Unix socket', () => {
  const prefix = uniquePrefix('tls');
  const lab = withLab({ prefix }, root.isRoot);
  let junction: RunningJunction;
  let certFile: string;
  const start = async (stateDir?: string, serveArgs = ['--tls-self-signed']) => {
    junction = await startJunction(lab(), { listen: `0.0.0.0:${PORT}`, args: serveArgs, ...(stateDir ? { stateDir } : {}) });
    certFile = join(junction.stateDir, 'tls', 'self-signed.crt');
  };
  /** curl in the ccnn namespace: the API's clients come from there */
  const curl = (...args: string[]) => lab().exec('ccnn', ['curl', '-sS', '--max-time', '10', ...args]);

  beforeAll(async () => {
    await start();
    const put = await junction.api('PUT', '/v1/config?comment=demo', demo, { contentType: 'application/yaml' });
    expect(put.status, put.text).toBe(200);
  });
  afterAll(async () => {
    await junction?.stop();
    if (junction) rmSync(junction.stateDir, { recursive: true, force: true });
  });

  it('made a certificate at start and again when the first commit gave ccnn0 its address; the key is root-only', () => {
    const fingerprints = loggedFingerprints(junction.stateDir);
    expect(fingerprints).toHaveLength(2);
    const x509 = new X509Certificate(readFileSync(certFile));
    expect(x509.fingerprint256).toBe(fingerprints[1]);
    expect(x509.checkIP(addressing.ccnn.router)).toBe(addressing.ccnn.router);
    expect(readFileSync(join(junction.stateDir, 'junction.log'), 'utf8')).toContain(`it does not name ${addressing.ccnn.router}`);
    expect(statSync(join(junction.stateDir, 'tls', 'self-signed.key')).mode & 0o777).toBe(0o600);
  });

  it('curl and openssl s_client in the ccnn namespace get the API over TLS with the logged certificate', async () => {
    const health = await curl('--cacert', certFile, url('/v1/health'));
    expect(health.code, health.stderr).toBe(0);
    expect(JSON.parse(health.stdout)).toMatchObject({ status: 'ok', revision: 1 });
    const served = await lab().exec('ccnn', ['sh', '-c', `openssl s_client -connect ${addressing.ccnn.router}:${PORT} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`]);
    expect(served.stdout.trim()).toBe(`sha256 Fingerprint=${loggedFingerprints(junction.stateDir).at(-1)}`);
    const untrusted = await curl(url('/v1/health'));
    expect(untrusted.code).toBe(60); // curl: peer certificate cannot be authenticated
  });

  it('plain HTTP on the TLS port gets 400 tls_required naming the https URL', async () => {
    const plain = await curl('-w', '\n%{http_code}', url('/v1/health', 'http'));
    const [body, status] = plain.stdout.split('\n');
    expect(status).toBe('400');
    expect(JSON.parse(body)).toMatchObject({ error: 'tls_required' });
    expect(JSON.parse(body).message).toContain(`use https://${addressing.ccnn.router}:${PORT}/v1/health`);
  });

  it('the Unix socket stays plain HTTP', async () => {
    expect((await junction.api('GET', '/v1/health')).status).toBe(200);
  });

  it('junction token over HTTPS: an operate token that expires reconciles, cannot commit, and is gone once revoked', async () => {
    const admin = readToken(junction.stateDir)!;
    const cli = (...args: string[]) => lab().exec('ccnn', [process.execPath, CLI, ...args, '--api', url(''), '--ca', certFile, '--token', admin]);
    const created = await cli('token', 'create', 'noc', '--scope', 'operate', '--expires-in', '1d');
    expect(created.code, created.stderr).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^jct_/);
    expect(created.stderr).toMatch(/^created token noc \(scope operate, expires 20\d\d-/);
    const listed = await cli('token', 'list');
    expect(listed.stdout).toMatch(/\nnoc +operate +20\d\d-\S+ +never +[0-9a-f]{12}\n/);
    expect(listed.stdout).not.toContain(secret);
    expect(listed.stdout).not.toContain(admin);

    const auth = ['--cacert', certFile, '-H', `Authorization: Bearer ${secret}`, '-o', '/dev/null', '-w', '%{http_code}'];
    expect((await curl(...auth, '-X', 'POST', url('/v1/reconcile'))).stdout).toBe('200');
    expect((await curl(...auth, '-X', 'PUT', '-H', 'content-type: application/yaml', '--data-binary', demo, url('/v1/config'))).stdout).toBe('403');
    const revoked = await cli('token', 'revoke', 'noc');
    expect(revoked.stdout).toMatch(/^revoked token noc \([0-9a-f]{12}\)/);
    expect((await curl(...auth, url('/v1/config'))).stdout).toBe('401');
  });

  it('a restart reuses the certificate: same fingerprint served', async () => {
    const before = new X509Certificate(readFileSync(certFile)).fingerprint256;
    const stateDir = junction.stateDir;
    await junction.stop();
    await start(stateDir);
    expect(loggedFingerprints(stateDir).at(-1)).toBe(before);
    expect(new X509Certificate(readFileSync(certFile)).fingerprint256).toBe(before);
    const health = await curl('--cacert', certFile, url('/v1/health'));
    expect(health.code, health.stderr).toBe(0);
  });

  it('serves an operator\'s certificate and key (--tls-cert/--tls-key) as given', async () => {
    const stateDir = junction.stateDir;
    const dir = join(stateDir, 'operator');
    mkdirSync(dir, { mode: 0o700 });
    const [crt, key] = [join(dir, 'api.crt'), join(dir, 'api.key')];
    const made = await lab().exec('router', ['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '2',
      '-subj', '/CN=junction.test', '-addext', `subjectAltName=DNS:junction.test,IP:${addressing.ccnn.router}`]);
    expect(made.code, made.stderr).toBe(0);
    await junction.stop();
    await start(stateDir, ['--tls-cert', crt, '--tls-key', key]);
    const fingerprint = new X509Certificate(readFileSync(crt)).fingerprint256;
    expect(loggedFingerprints(stateDir).at(-1)).toBe(fingerprint);
    const health = await curl('--cacert', crt, url('/v1/health'));
    expect(health.code, health.stderr).toBe(0);
    const byName = await curl('--cacert', crt, '--resolve', `junction.test:${PORT}:${addressing.ccnn.router}`, `https://junction.test:${PORT}/v1/health`);
    expect(byName.code, byName.stderr).toBe(0);
  });

  it('a key that is not the certificate\'s: serve says so and exits 1 before it touches anything', async () => {
    const stateDir = junction.stateDir;
    await junction.stop();
    const before = (await lab().exec('router', ['nft', 'list', 'ruleset'], { check: true })).stdout;
    const wrongKey = join(stateDir, 'tls', 'self-signed.key');
    const child = lab().spawn('router', [process.execPath, CLI, 'serve', '--state-dir', stateDir, '--listen', `0.0.0.0:${PORT}`, '--tls-cert', join(stateDir, 'operator', 'api.crt'), '--tls-key', wrongKey], {
      logFile: join(stateDir, 'refused.log'),
    });
    const code = await Promise.race([child.exited, new Promise<number>((r) => setTimeout(() => r(-1), 30_000))]);
    child.kill('SIGKILL');
    expect(code).toBe(1);
    expect(readFileSync(join(stateDir, 'refused.log'), 'utf8')).toContain(`cannot serve HTTPS: the key ${wrongKey} does not belong to the certificate`);
    expect((await lab().exec('router', ['nft', 'list', 'ruleset'], { check: true })).stdout).toBe(before);
    await start(stateDir); // for afterAll
  });
});
