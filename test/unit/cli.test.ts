// appliance/main: what the CLI prints from server-provided strings, which
// state dir it picks without --state-dir, per-command help, and `| head`.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { safeJson, visible } from '../../appliance/main/cli-output.js';
import { chooseStateDir } from '../../appliance/main/state-dir.js';
import { commandHelp } from '../../appliance/main/cli-help.js';

const CLI = fileURLToPath(new URL('../../appliance/cli.ts', import.meta.url));

describe('visible: server strings cannot forge lines or drive the terminal', () => {
  it('escapes newlines, ESC, C1 controls, DEL, line separators and bidi overrides', () => {
    const forged = 'ok\n* 99\t2026-01-01\tadmin\tapi\tforged\r\u001b[2J\u009b31m\u007f\u2028\u202e';
    const out = visible(forged);
    expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u202e]/);
    expect(out).toBe('ok\\n* 99\\t2026-01-01\\tadmin\\tapi\\tforged\\r\\u{1b}[2J\\u{9b}31m\\u{7f}\\u{2028}\\u{202e}');
  });

  it('keeps ordinary text (and other scripts) as it is; escapes backslashes so an escape is never ambiguous', () => {
    expect(visible('app tier → database, Ünïcode ok')).toBe('app tier → database, Ünïcode ok');
    expect(visible('a\\nb')).toBe('a\\\\nb');
    expect(visible(42)).toBe('42');
  });

  it('safeJson stays valid JSON and carries no raw C1 or separators', () => {
    const value = { comment: 'x\u009by\u2028z\n', n: 1 };
    const text = safeJson(value);
    expect(text).not.toMatch(/[\u007f-\u009f\u2028]/);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('chooseStateDir', () => {
  let dir: string;
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    rmSync(dir, { recursive: true, force: true });
  });
  const setup = () => {
    dir = mkdtempSync(join(tmpdir(), 'junction-statedir-'));
    const defaultDir = join(dir, 'junction');
    const labRoot = join(dir, 'junction-lab');
    mkdirSync(defaultDir);
    mkdirSync(labRoot);
    return { defaultDir, labRoot };
  };
  const listen = async (stateDir: string) => {
    mkdirSync(stateDir, { recursive: true });
    const server = createServer((s) => s.end());
    servers.push(server);
    await new Promise<void>((r) => server.listen(join(stateDir, 'api.sock'), r));
  };

  it('no lab: the default, without a note', async () => {
    const { defaultDir, labRoot } = setup();
    expect(await chooseStateDir({ defaultDir, labRoot })).toEqual({ stateDir: defaultDir });
  });

  it('exactly one live lab (a stale socket in another does not count): that lab, with a note saying so', async () => {
    const { defaultDir, labRoot } = setup();
    await listen(join(labRoot, 'jnlab'));
    mkdirSync(join(labRoot, 'old'));
    writeFileSync(join(labRoot, 'old', 'api.sock'), ''); // a leftover file, nothing listening
    const choice = await chooseStateDir({ defaultDir, labRoot });
    expect(choice).toMatchObject({ stateDir: join(labRoot, 'jnlab') });
    expect('note' in choice && choice.note).toMatch(/only running lab.*--state-dir/);
  });

  it('several live labs, or a lab beside a live appliance: ambiguous, all listed', async () => {
    const { defaultDir, labRoot } = setup();
    await listen(join(labRoot, 'jna'));
    await listen(join(labRoot, 'jnb'));
    expect(await chooseStateDir({ defaultDir, labRoot })).toEqual({ ambiguous: [join(labRoot, 'jna'), join(labRoot, 'jnb')] });
    await listen(defaultDir);
    expect(await chooseStateDir({ defaultDir, labRoot })).toEqual({ ambiguous: [defaultDir, join(labRoot, 'jna'), join(labRoot, 'jnb')] });
  });

  it('the appliance itself live and no lab: the default', async () => {
    const { defaultDir, labRoot } = setup();
    await listen(defaultDir);
    expect(await chooseStateDir({ defaultDir, labRoot })).toEqual({ stateDir: defaultDir });
  });
});

/** Runs the CLI from source; `closeStdout` closes the reading end at once, as `| head` does early. */
function runCli(args: string[], closeStdout = false): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  if (closeStdout) child.stdout.destroy();
  else child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('the junction command', () => {
  it('has help for each command, with the client options', async () => {
    for (const command of ['apply', 'plan', 'status', 'revisions', 'rollback', 'confirm', 'cancel']) {
      expect(commandHelp(command)).toMatch(new RegExp(`^usage: junction ${command}[\\s\\S]*--state-dir`));
    }
    expect(commandHelp('serve')).toMatch(/^usage: junction serve/);
    const apply = await runCli(['apply', '--help']);
    expect(apply).toMatchObject({ code: 0, stdout: `${commandHelp('apply')}\n` });
    expect((await runCli(['help', 'rollback'])).stdout).toBe(`${commandHelp('rollback')}\n`);
  });

  it('prints a forged revision comment as one escaped line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'junction-cli-'));
    const forged = 'fix\n* 99\t2026-01-01T00:00:00Z\ttoken:admin\tapi\tforged\u001b[31m';
    const server = createHttpServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ current: 2, revisions: [{ id: 2, createdAt: '2026-12-01T00:00:00Z', author: 'token:ops', source: 'api', comment: forged }] }));
    });
    await new Promise<void>((r) => server.listen(join(dir, 'api.sock'), r));
    try {
      const result = await runCli(['revisions', '--state-dir', dir]);
      expect(result.code).toBe(0);
      expect(result.stdout).toBe('* 2\t2026-12-01T00:00:00Z\ttoken:ops\tapi\tfix\\n* 99\\t2026-01-01T00:00:00Z\\ttoken:admin\\tapi\\tforged\\u{1b}[31m\n');
    } finally {
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits quietly when its reader goes away (EPIPE)', async () => {
    const result = await runCli(['--help'], true);
    expect(result.stderr).not.toMatch(/EPIPE|Error/);
    expect(result.code).toBe(0);
  });
});
