// The dashboard's files: served at / and /dashboard/<file> without a token,
// with the Content-Security-Policy and the right media types; only files of
// the built directory, nothing else on disk; and a page that the policy
// does not break (no inline script, style or event handler).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dashboardPlugin, { DASHBOARD_CSP } from '../../api/plugins/dashboard.js';
import { registerErrorHandler } from '../../api/errors.js';
import { memoryLogger } from '../support/memory-logger.js';
import { startHarness, type Harness } from './support/harness.js';

const PAGE = readFileSync(new URL('../../api/dashboard/index.html', import.meta.url), 'utf8');

async function serve(dir: string): Promise<FastifyInstance> {
  const app = Fastify();
  registerErrorHandler(app, memoryLogger());
  await app.register(dashboardPlugin, { dir });
  return app;
}

describe('dashboard files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dashboard-test-'));
  let app: FastifyInstance;

  beforeAll(async () => {
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(dir, 'app.js'), 'export {};');
    writeFileSync(join(dir, 'style.css'), 'body{}');
    writeFileSync(join(dir, 'notes.txt'), 'not served');
    app = await serve(dir);
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page at / and its files with their media types and the security headers', async () => {
    for (const [url, type] of [['/', 'text/html'], ['/dashboard/app.js', 'text/javascript'], ['/dashboard/style.css', 'text/css']]) {
      const answer = await app.inject({ method: 'GET', url });
      expect(answer.statusCode, url).toBe(200);
      expect(answer.headers['content-type'], url).toContain(type);
      expect(answer.headers['content-security-policy'], url).toBe(DASHBOARD_CSP);
      expect(answer.headers['x-content-type-options'], url).toBe('nosniff');
      expect(answer.headers['x-frame-options'], url).toBe('DENY');
    }
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).not.toContain('unsafe-inline');
    expect(DASHBOARD_CSP).toContain("frame-ancestors 'none'");
    expect(DASHBOARD_CSP).toContain("require-trusted-types-for 'script'");
  });

  it('serves nothing but the page, scripts and styles of its directory', async () => {
    for (const url of ['/dashboard/notes.txt', '/dashboard/..%2Fpackage.json', '/dashboard/%2e%2e%2fetc%2fpasswd', '/dashboard/../../package.json', '/dashboard/index.htm']) {
      const answer = await app.inject({ method: 'GET', url });
      expect(answer.statusCode, url).toBe(404);
      expect(answer.body, url).not.toContain('not served');
    }
  });

  it('a missing build answers / with 404 and a reason, not a crash', async () => {
    const empty = await serve(join(dir, 'does-not-exist'));
    const answer = await empty.inject({ method: 'GET', url: '/' });
    expect(answer.statusCode).toBe(404);
    expect(answer.json().message).toContain('not built');
    await empty.close();
  });
});

describe('dashboard in the API server', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('is public (the page holds no data) while /v1 still needs a token, and stays out of the OpenAPI document', async () => {
    const page = await h.app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect((await h.app.inject({ method: 'GET', url: '/v1/status' })).statusCode).toBe(401);
    const paths = Object.keys((await h.app.inject({ method: 'GET', url: '/docs/json' })).json().paths);
    expect(paths.filter((p) => p === '/' || p.startsWith('/dashboard'))).toEqual([]);
    expect(paths).toContain('/v1/status');
  });
});

describe('the page under its own policy', () => {
  it('has no inline script, inline style or event-handler attribute, and loads only its own files', () => {
    expect(PAGE).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(PAGE).not.toMatch(/\sstyle=/i);
    expect(PAGE).not.toMatch(/<style/i);
    expect(PAGE).not.toMatch(/\son[a-z]+=/i);
    const urls = [...PAGE.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) expect(url).toMatch(/^\/dashboard\/[a-z-]+\.(js|css|svg)$/);
  });
});
