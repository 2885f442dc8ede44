// `junction token create|list|revoke` against the real API (the harness
// appliance) on a Unix socket in a state dir, as an operator runs it: the
// secret printed once, alone on stdout; the list without secrets or hashes;
// revoke by name; a name held by two tokens (an older store) refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { startHarness, type Harness } from './support/harness.js';

const CLI = fileURLToPath(new URL('../../appliance/cli.ts', import.meta.url));

function junction(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('junction token', () => {
  let h: Harness;
  let server: Server;
  const cli = (...args: string[]) => junction(['token', ...args, '--state-dir', h.stateDir]);

  beforeAll(async () => {
    h = await startHarness();
    writeFileSync(join(h.stateDir, 'api-token'), `${h.admin}\n`, { mode: 0o600 });
    server = createServer((req, res) => h.app.routing(req, res));
    await new Promise<void>((resolve) => server.listen(join(h.stateDir, 'api.sock'), resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await h.close();
  });

  it('create prints the secret alone on stdout, and what it is on stderr', async () => {
    const created = await cli('create', 'grafana', '--scope', 'read', '--expires-in', '90d');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^jct_[A-Za-z0-9_-]{32}\n$/);
    expect(created.stderr).toMatch(/^created token grafana \(scope read, expires 20\d\d-\d\d-\d\dT[\d:.]+Z\); its secret is shown this once:\n$/);
    const token = h.appliance.store.authenticate(created.stdout.trim());
    expect(token).toMatchObject({ name: 'grafana', scope: 'read' });
  });

  it('list shows name, scope, expiry, last use and id, never a secret or a hash', async () => {
    const listed = await cli('list');
    expect(listed.code, listed.stderr).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +SCOPE +EXPIRES +LAST USED +ID$/);
    expect(lines.map((l) => l.split(/ +/).slice(0, 2).join(' '))).toEqual(expect.arrayContaining(['test-admin admin', 'test-operator operate', 'test-reader read', 'grafana read']));
    for (const secret of [h.admin, h.reader, h.operator]) {
      expect(listed.stdout).not.toContain(secret);
      expect(listed.stdout).not.toContain(createHash('sha256').update(secret).digest('hex'));
    }
  });

  it('revoke NAME revokes that token; an unknown name or a bad scope is an error naming it', async () => {
    const revoked = await cli('revoke', 'grafana');
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/^revoked token grafana \([0-9a-f]{12}\)\n$/);
    expect(h.appliance.store.tokens().map((t) => t.name)).not.toContain('grafana');
    const unknown = await cli('revoke', 'grafana');
    expect(unknown).toMatchObject({ code: 2, stderr: 'junction: no token named "grafana" (junction token list shows them)\n' });
    const badScope = await cli('create', 'x', '--scope', 'root');
    expect(badScope.code).toBe(1);
    expect(JSON.parse(badScope.stderr).problems[0].path).toBe('/scope');
  });

  it('refuses to guess between two tokens of one name (a store from before names were unique)', async () => {
    const db = new Database(join(h.stateDir, 'junction.db'));
    db.prepare(`insert into tokens (id, name, scope, hash, created_at) values (?, ?, ?, ?, ?)`).run('aaaaaaaaaaaa', 'dup', 'read', 'h1', '2026-01-01T00:00:00.000Z');
    db.prepare(`insert into tokens (id, name, scope, hash, created_at) values (?, ?, ?, ?, ?)`).run('bbbbbbbbbbbb', 'dup', 'read', 'h2', '2026-01-01T00:00:00.000Z');
    db.close();
    const ambiguous = await cli('revoke', 'dup');
    expect(ambiguous).toMatchObject({ code: 2, stderr: 'junction: 2 tokens are named "dup" (ids aaaaaaaaaaaa, bbbbbbbbbbbb); revoke one by its id\n' });
    const byId = await cli('revoke', 'aaaaaaaaaaaa');
    expect(byId.stdout).toBe('revoked token dup (aaaaaaaaaaaa)\n');
    expect(h.appliance.store.tokens().filter((t) => t.name === 'dup').map((t) => t.id)).toEqual(['bbbbbbbbbbbb']);
  });
});
