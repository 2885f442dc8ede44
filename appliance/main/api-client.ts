// A small client for Junction's REST API, over the Unix socket in the state
// directory (the default: it needs no network, and the file is root-only)
// or over TCP, HTTP or HTTPS. The CLI and the lab tests use it.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ApiTarget {
  /** Unix socket path, or undefined with `url` */
  socketPath?: string;
  url?: string;
  token?: string;
  /** PEM certificate(s) to trust for an https url (e.g. a self-signed one) instead of the system's CAs */
  ca?: string;
}

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  text: string;
}

export function targetFromStateDir(stateDir: string, token?: string): ApiTarget {
  return { socketPath: join(stateDir, 'api.sock'), token: token ?? readToken(stateDir) };
}

export function readToken(stateDir: string): string | undefined {
  try {
    return readFileSync(join(stateDir, 'api-token'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function apiRequest<T = unknown>(
  target: ApiTarget,
  method: string,
  path: string,
  body?: unknown,
  options: { contentType?: string; timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { ...options.headers };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  if (payload !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  const base = target.url ? new URL(target.url) : undefined;
  const https = !target.socketPath && base?.protocol === 'https:';
  const send = https ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        method,
        path,
        headers,
        ...(target.socketPath ? { socketPath: target.socketPath } : { host: base!.hostname.replace(/^\[|\]$/g, ''), port: base!.port || (https ? 443 : 80) }),
        ...(https && target.ca ? { ca: target.ca } : {}),
        timeout: options.timeoutMs ?? 300_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          if ((res.headers['content-type'] ?? '').includes('json')) {
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = text;
            }
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T, text });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
