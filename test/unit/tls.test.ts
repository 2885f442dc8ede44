// api/tls.ts with a real TLS client (node's https) on a Unix socket (no
// network traffic): the API over HTTPS, a self-signed certificate made once
// in the state dir and reused, plain HTTP refused with tls_required, and
// certificates that cannot be used refused with a message naming the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { createTlsOnlyServer, loadTlsFiles, selfSignedTls, TlsSetupError, type TlsMaterial, type TlsOnlyServer } from '../../api/tls.js';
import { createSelfSignedCertificate } from '../../api/self-signed-cert.js';
import { memoryLogger } from '../support/memory-logger.js';
import { startHarness, type Harness } from '../api/support/harness.js';

interface Answer { status: number; body: string; fingerprint?: string }

function get(socketPath: string, path: string, options: { tls?: boolean; ca?: string; token?: string } = {}): Promise<Answer> {
  const send = options.tls ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send({
      socketPath, path, method: 'GET', servername: 'localhost', agent: false,
      ...(options.ca ? { ca: options.ca } : {}),
      headers: { host: 'router.example:8443', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    }, (res) => {
      const fingerprint = options.tls ? (res.socket as TLSSocket).getPeerCertificate().fingerprint256 : undefined;
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS for the API', () => {
  let dir: string;
  let h: Harness;
  let tls: TlsMaterial;
  let server: TlsOnlyServer;
  let socketPath: string;
  const log = memoryLogger();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'junction-tls-test-'));
    h = await startHarness();
    tls = selfSignedTls(dir, '192.0.2.10', log);
    server = createTlsOnlyServer((req, res) => h.app.routing(req, res), tls);
    socketPath = join(dir, 'tls.sock');
    await new Promise<void>((resolve) => server.server.listen(socketPath, resolve));
  });
  afterAll(async () => {
    server.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes a self-signed certificate in <state>/tls: key root-only, naming the listen address, the host name and localhost', () => {
    expect(statSync(join(dir, 'tls')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'tls/self-signed.key')).mode & 0o777).toBe(0o600);
    const x509 = new X509Certificate(readFileSync(join(dir, 'tls/self-signed.crt')));
    expect(x509.fingerprint256).toBe(tls.fingerprint256);
    expect(x509.subjectAltName).toContain('IP Address:192.0.2.10');
    expect(x509.subjectAltName).toContain(`DNS:${hostname()}`);
    expect(x509.subjectAltName).toContain('DNS:localhost');
    expect(x509.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(x509.verify(x509.publicKey)).toBe(true);
    const days = (Date.parse(x509.validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(824);
    expect(days).toBeLessThanOrEqual(825);
  });

  it('serves the API over TLS to a client that trusts the certificate, with the certificate it made', async () => {
    const health = await get(socketPath, '/v1/health', { tls: true, ca: tls.cert });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' });
    expect(health.fingerprint).toBe(tls.fingerprint256);
    expect((await get(socketPath, '/v1/config', { tls: true, ca: tls.cert })).status).toBe(401);
    expect((await get(socketPath, '/v1/config', { tls: true, ca: tls.cert, token: h.reader })).status).toBe(200);
  });

  it('a client that does not trust it refuses it', async () => {
    await expect(get(socketPath, '/v1/health', { tls: true })).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    const other = createSelfSignedCertificate({ commonName: 'other', names: ['localhost'], days: 1 });
    await expect(get(socketPath, '/v1/health', { tls: true, ca: other.cert })).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });

  it('refuses plain HTTP on the TLS port with 400 tls_required naming the https URL, and closes', async () => {
    const plain = await get(socketPath, '/v1/config?x=1', { token: h.reader });
    expect(plain.status).toBe(400);
    const body = JSON.parse(plain.body);
    expect(body.error).toBe('tls_required');
    expect(body.message).toMatch(/^this port speaks HTTPS only: use https:\/\/router\.example:8443\/v1\/config \(plain HTTP is refused, not redirected/);
    expect(plain.body).not.toContain(h.reader);
  });

  it('reuses the certificate on the next start, and makes a new one when it has expired or its key is broken', () => {
    const lines = memoryLogger();
    expect(selfSignedTls(dir, '192.0.2.10', lines).fingerprint256).toBe(tls.fingerprint256);
    expect(lines.lines.join('')).not.toContain('making a self-signed');

    const old = createSelfSignedCertificate({ commonName: 'old', names: ['localhost'], days: 1, now: new Date(Date.now() - 3 * 86_400_000) });
    writeFileSync(join(dir, 'tls/self-signed.crt'), old.cert);
    writeFileSync(join(dir, 'tls/self-signed.key'), old.key);
    const renewed = selfSignedTls(dir, '192.0.2.10', lines);
    expect(renewed.fingerprint256).not.toBe(tls.fingerprint256);
    expect(lines.lines.at(-1)).toContain('it expires');

    writeFileSync(join(dir, 'tls/self-signed.key'), 'not a key');
    const again = selfSignedTls(dir, '192.0.2.10', lines);
    expect(again.fingerprint256).not.toBe(renewed.fingerprint256);
    expect(lines.lines.at(-1)).toContain('is not a PEM private key');

    // An address the box has now and the certificate lacks (a first commit gives a fresh box its addresses).
    const moved = selfSignedTls(dir, '192.0.2.99', lines);
    expect(moved.fingerprint256).not.toBe(again.fingerprint256);
    expect(lines.lines.at(-1)).toContain('it does not name 192.0.2.99');
    expect(new X509Certificate(moved.cert).checkIP('192.0.2.99')).toBe('192.0.2.99');
  });

  it('a running server serves a replaced certificate from the next handshake on', async () => {
    const next = createSelfSignedCertificate({ commonName: 'next', names: ['localhost'], days: 1 });
    server.replaceCertificate({ ...tls, ...next, fingerprint256: new X509Certificate(next.cert).fingerprint256 });
    try {
      const health = await get(socketPath, '/v1/health', { tls: true, ca: next.cert });
      expect(health.fingerprint).toBe(new X509Certificate(next.cert).fingerprint256);
    } finally {
      server.replaceCertificate(tls);
    }
    expect((await get(socketPath, '/v1/health', { tls: true, ca: tls.cert })).fingerprint).toBe(tls.fingerprint256);
  });

  it('makes certificates that parse, every time (random serials included)', () => {
    // 1 in 128 serials once started with a non-minimal 0x00 byte; 500 tries make that failure all but certain.
    for (let i = 0; i < 500; i++) {
      const made = createSelfSignedCertificate({ commonName: 'r', names: ['r', '::1'], days: 1 });
      const x509 = new X509Certificate(made.cert);
      expect(x509.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
      expect(x509.verify(x509.publicKey)).toBe(true);
    }
  });

  it('refuses a key that is not the certificate\'s, and a file it cannot read, naming it', () => {
    const a = createSelfSignedCertificate({ commonName: 'a', names: ['a'], days: 1 });
    const b = createSelfSignedCertificate({ commonName: 'b', names: ['b'], days: 1 });
    writeFileSync(join(dir, 'a.crt'), a.cert);
    writeFileSync(join(dir, 'b.key'), b.key, { mode: 0o600 });
    expect(() => loadTlsFiles(join(dir, 'a.crt'), join(dir, 'b.key'), log)).toThrow(new TlsSetupError(`the key ${join(dir, 'b.key')} does not belong to the certificate ${join(dir, 'a.crt')}`));
    expect(() => loadTlsFiles(join(dir, 'missing.crt'), join(dir, 'b.key'), log)).toThrow(/^cannot read the TLS certificate .*missing\.crt/);
    writeFileSync(join(dir, 'a.key'), a.key, { mode: 0o600 });
    expect(loadTlsFiles(join(dir, 'a.crt'), join(dir, 'a.key'), log)).toMatchObject({ selfSigned: false, fingerprint256: new X509Certificate(a.cert).fingerprint256 });
  });
});
