// The web dashboard: a static page at `/` and its files under /dashboard/,
// compiled from api/dashboard (appliance/scripts/build-dashboard.sh). The
// page holds no data and needs no token; everything it shows it fetches
// from the public /v1 API with the token the operator types in, so the
// files are served without auth, with a strict Content-Security-Policy (own
// scripts and styles only, no inline code, no framing, no form posts, and
// HTML assigned only through the dashboard's Trusted Types policy).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError } from '../errors.js';

/** Where `npm run build` puts the compiled dashboard, next to this plugin's compiled file. */
export const BUILT_DASHBOARD_DIR = fileURLToPath(new URL('../dashboard/', import.meta.url));

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  // HTML reaches the page only through the dashboard's one policy (api/dashboard/dom.ts)
  "require-trusted-types-for 'script'",
  'trusted-types dashboard',
].join('; ');

const MEDIA_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  type: string;
  body: Buffer;
}

/**
 * The dashboard's files, read once: a fixed map from file name to content,
 * so a request can only ever name one of them (no path reaches the disk).
 */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return assets; // not built: `/` says so
  }
  for (const name of names) {
    const type = MEDIA_TYPES[extname(name)];
    if (type) assets.set(name, { type, body: readFileSync(join(dir, name)) });
  }
  return assets;
}

export interface DashboardOptions {
  /** the compiled dashboard (default BUILT_DASHBOARD_DIR) */
  dir?: string;
}

export default async function dashboardPlugin(app: FastifyInstance, options: DashboardOptions) {
  const assets = loadAssets(options.dir ?? BUILT_DASHBOARD_DIR);

  const send = (reply: FastifyReply, asset: Asset) =>
    reply
      .header('content-type', asset.type)
      .header('content-security-policy', DASHBOARD_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .header('cache-control', 'no-cache')
      .send(asset.body);

  app.get('/', { schema: { hide: true } }, async (_request, reply) => {
    const page = assets.get('index.html');
    if (!page) throw new HttpError(404, 'not_found', 'the dashboard is not built (npm run build)');
    return send(reply, page);
  });

  app.get('/dashboard/:file', { schema: { hide: true } }, async (request, reply) => {
    const { file } = request.params as { file: string };
    const asset = assets.get(file);
    if (!asset) throw new HttpError(404, 'not_found', `no dashboard file "${file}"`);
    return send(reply, asset);
  });
}
