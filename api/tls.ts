// HTTPS for the TCP API listener: a certificate and key from files
// (`serve --tls-cert/--tls-key`), or one Junction makes for itself on first
// start (`--tls-self-signed`, kept in <state-dir>/tls and reused, so its
// fingerprint stays what clients pinned, until the box has a name or an
// address the certificate does not carry: a fresh box gets its addresses
// with its first commit, and then the certificate is made again). The listener looks at the first
// byte of each connection: a TLS handshake goes to HTTPS; anything else is
// plain HTTP and gets one 400 `tls_required` answer naming the https URL,
// then the connection closes. It is refused, not redirected: by the time a
// redirect could be sent the client has already put its bearer token on
// the wire in clear, and a redirect that "works" would hide that.
// The Unix socket is not served here; it stays plain HTTP (root-only file).
import { X509Certificate, createPrivateKey, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, isIP, type Server, type Socket } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../appliance/platform/log.js';
import { createSelfSignedCertificate } from './self-signed-cert.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
  /** SHA-256 of the certificate, colon-separated hex: what a client pins or compares */
  fingerprint256: string;
  selfSigned: boolean;
}

/** A certificate or key that cannot be used; serve stops with this message. */
export class TlsSetupError extends Error {}

/** How long a self-signed certificate is valid: the most browsers accept for a server certificate. */
export const SELF_SIGNED_DAYS = 825;
/** A connection that has sent nothing after this long is closed. */
const FIRST_BYTE_TIMEOUT_MS = 10_000;
const TLS_HANDSHAKE = 0x16;

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new TlsSetupError(`cannot read the TLS ${what} ${file}: ${(error as Error).message}`);
  }
}

/** Parses a certificate and its key and checks that they belong together. */
function material(certFile: string, keyFile: string, selfSigned: boolean): TlsMaterial & { x509: X509Certificate } {
  const cert = read(certFile, 'certificate');
  const key = read(keyFile, 'key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (error) {
    throw new TlsSetupError(`${certFile} is not a PEM certificate: ${(error as Error).message}`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new TlsSetupError(`${keyFile} is not a PEM private key (or it is encrypted): ${(error as Error).message}`);
  }
  if (!x509.checkPrivateKey(privateKey)) throw new TlsSetupError(`the key ${keyFile} does not belong to the certificate ${certFile}`);
  return { cert, key, certFile, keyFile, fingerprint256: x509.fingerprint256, selfSigned, x509 };
}

/** The certificate and key an operator gave (`--tls-cert`, `--tls-key`). */
export function loadTlsFiles(certFile: string, keyFile: string, log: Logger): TlsMaterial {
  const { x509, ...loaded } = material(certFile, keyFile, false);
  if (Date.parse(x509.validTo) <= Date.now()) log.warn('the TLS certificate has expired: clients will refuse it', { file: certFile, valid_to: x509.validTo });
  return loaded;
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

/**
 * What a self-signed certificate names: the host name, localhost and the
 * loopback addresses, and the listen address, or every address of the box
 * when listening on all of them.
 */
export function selfSignedNames(listenHost: string): string[] {
  const names = [hostname(), 'localhost', '127.0.0.1', '::1'];
  if (!WILDCARD.has(listenHost)) names.push(listenHost);
  else {
    for (const addresses of Object.values(networkInterfaces())) {
      for (const a of addresses ?? []) if (!a.internal && !a.address.startsWith('fe80:')) names.push(a.address);
    }
  }
  return [...new Set(names)];
}

/** Whether a certificate is valid for a name or address. */
const covers = (x509: X509Certificate, name: string) => (isIP(name) ? x509.checkIP(name) !== undefined : x509.checkHost(name) !== undefined);

/**
 * The self-signed certificate in <stateDir>/tls: reused while it parses,
 * matches its key, has not expired and names every name and address the box
 * has now (its fingerprint is what clients pinned); made anew, saying why,
 * otherwise. Addresses the box no longer has do not count: no churn.
 */
export function selfSignedTls(stateDir: string, listenHost: string, log: Logger): TlsMaterial {
  const dir = join(stateDir, 'tls');
  const certFile = join(dir, 'self-signed.crt');
  const keyFile = join(dir, 'self-signed.key');
  const wanted = selfSignedNames(listenHost);
  let reason = 'none yet';
  if (existsSync(certFile) && existsSync(keyFile)) {
    try {
      chmodSync(keyFile, 0o600);
      const { x509, ...existing } = material(certFile, keyFile, true);
      const missing = wanted.filter((n) => !covers(x509, n));
      if (Date.parse(x509.validTo) - Date.now() <= 86_400_000) reason = `it expires ${x509.validTo}`;
      else if (missing.length) reason = `it does not name ${missing.join(', ')}`;
      else return existing;
    } catch (error) {
      reason = (error as Error).message;
    }
  }
  log.info('making a self-signed TLS certificate (a new fingerprint)', { reason, names: wanted, days: SELF_SIGNED_DAYS });
  const made = createSelfSignedCertificate({ commonName: hostname(), names: wanted, days: SELF_SIGNED_DAYS });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  // Written aside and renamed: a crash leaves the old pair or the new one, never half of each.
  writeFileSync(`${keyFile}.new`, made.key, { mode: 0o600 });
  chmodSync(`${keyFile}.new`, 0o600);
  writeFileSync(`${certFile}.new`, made.cert, { mode: 0o644 });
  renameSync(`${keyFile}.new`, keyFile);
  renameSync(`${certFile}.new`, certFile);
  const { x509: _x509, ...created } = material(certFile, keyFile, true);
  return created;
}

/** The one answer plain HTTP gets on the TLS port: the API's error shape, naming the https URL. */
function refusePlainHttp(req: IncomingMessage, res: ServerResponse): void {
  const host = /^[A-Za-z0-9.:[\]-]{1,255}$/.test(req.headers.host ?? '') ? req.headers.host : '<this address>';
  const path = (req.url ?? '/').split('?')[0];
  const body = JSON.stringify({
    error: 'tls_required',
    message: `this port speaks HTTPS only: use https://${host}${path.slice(0, 200)} (plain HTTP is refused, not redirected: your request, with any token it carried, crossed the network unencrypted)`,
    problems: [],
    request_id: randomUUID(),
  });
  res.writeHead(400, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface TlsOnlyServer {
  /** the listening socket: listen() on it */
  server: Server;
  /** serves this certificate from the next handshake on (open connections keep theirs) */
  replaceCertificate(tls: TlsMaterial): void;
  /** stops listening and closes every open connection (HTTPS keep-alive ones too) */
  close(): void;
}

/** A TCP server for `handler` that speaks HTTPS and refuses plain HTTP. */
export function createTlsOnlyServer(handler: RequestHandler, tls: TlsMaterial): TlsOnlyServer {
  const https = createHttpsServer({ cert: tls.cert, key: tls.key }, handler);
  const plain = createHttpServer(refusePlainHttp);
  const front = createNetServer((socket: Socket) => {
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.once('error', () => socket.destroy());
    socket.once('readable', () => {
      const first = socket.read(1) as Buffer | null;
      if (!first) return void socket.destroy();
      socket.setTimeout(0);
      socket.unshift(first);
      (first[0] === TLS_HANDSHAKE ? https : plain).emit('connection', socket);
    });
  });
  return {
    server: front,
    replaceCertificate: (next) => https.setSecureContext({ cert: next.cert, key: next.key }),
    close: () => {
      front.close();
      https.closeAllConnections();
      plain.closeAllConnections();
    },
  };
}

export interface ListenTlsOptions {
  host: string;
  port: number;
  stateDir: string;
  log: Logger;
  /** calls back after each commit: a self-signed certificate then follows the box's addresses */
  onCommitted: (callback: () => void) => void;
}

/** Serves `handler` over HTTPS on host:port, logging the certificate's fingerprint (and every new one). */
export async function listenTls(handler: RequestHandler, tls: TlsMaterial, options: ListenTlsOptions): Promise<TlsOnlyServer> {
  const { log } = options;
  log.info('TLS', { cert: tls.certFile, self_signed: tls.selfSigned, fingerprint_sha256: tls.fingerprint256 });
  const server = createTlsOnlyServer(handler, tls);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.server.listen(options.port, options.host, resolve);
  });
  if (!tls.selfSigned) return server;
  let current = tls;
  options.onCommitted(() => {
    try {
      const next = selfSignedTls(options.stateDir, options.host, log);
      if (next.fingerprint256 === current.fingerprint256) return;
      current = next;
      server.replaceCertificate(next);
      log.info('TLS', { cert: next.certFile, self_signed: true, fingerprint_sha256: next.fingerprint256 });
    } catch (error) {
      log.error('could not make a new self-signed certificate; the old one stays', { error: String((error as Error).message) });
    }
  });
  return server;
}
