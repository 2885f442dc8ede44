#!/usr/bin/env node
// The junction command: one entry point that wraps the same code paths as
// the API (serve, apply, plan, status, revisions, rollback).
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { apiRequest, targetFromStateDir, type ApiTarget } from './api-client.js';
import { exitQuietlyOnBrokenPipe, safeJson, visible } from './cli-output.js';
import { chooseStateDir, DEFAULT_STATE_DIR } from './state-dir.js';
import { commandHelp } from './cli-help.js';
import { parsePrefix } from '../model/ip.js';
import { tokenCommand } from './cli-tokens.js';

const USAGE = `usage: junction <command> [options]

  serve   [--state-dir DIR] [--listen HOST:PORT] [--stop-daemons]
          [--tls-cert FILE --tls-key FILE | --tls-self-signed]
          [--metrics-allow CIDR[,CIDR]] [--metrics-max-age S]
                                                   run the appliance (as root, in its network namespace);
                                                   stopping it leaves the data plane and daemons running
  restart                                          restart Junction hitlessly (the daemons are adopted)
  down                                             stop Junction and every daemon it runs (full stop)
  doctor  [--json]                                 check that every program, Debian package and daemon plugin
                                                   Junction needs is here and works; exits 1 if not
  apply   -f FILE [--comment TEXT] [--confirm-timeout S]
                                                   commit a whole configuration (YAML or JSON); with a
                                                   timeout it reverts unless \`junction confirm\` follows
  confirm | cancel                                 keep, or revert now, the commit awaiting confirmation
  plan    -f FILE                                  show what apply would change, change nothing
  status                                           interfaces, routes, counters, conntrack
  revisions                                        list revisions
  rollback REVISION                                make an old revision current again
  token   create NAME [--scope read|operate|admin] [--expires-in 30d] | list | revoke NAME
                                                   API tokens (the secret is shown once, at create)

client options: --state-dir DIR (default /var/lib/junction, or the namespace lab's when only one runs;
                uses DIR/api.sock and DIR/api-token)
                --api URL --token TOKEN (or JUNCTION_TOKEN) to use TCP instead;
                --ca FILE (or JUNCTION_CA) trusts that certificate for an https:// URL
junction COMMAND --help                            what one command does`;

function fail(message: string): never {
  process.stderr.write(`junction: ${message}\n`);
  process.exit(2);
}

async function targetOf(values: Record<string, unknown>): Promise<ApiTarget> {
  const token = (values.token as string | undefined) ?? process.env.JUNCTION_TOKEN;
  const caFile = (values.ca as string | undefined) ?? process.env.JUNCTION_CA;
  if (values.api) return { url: values.api as string, token, ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}) };
  if (values['state-dir']) return targetFromStateDir(values['state-dir'] as string, token);
  return targetFromStateDir(await chooseStateDirOrFail(), token);
}

async function chooseStateDirOrFail(): Promise<string> {
  const choice = await chooseStateDir();
  if ('ambiguous' in choice) fail(`several appliances answer (${choice.ambiguous.join(', ')}); choose one with --state-dir DIR`);
  if (choice.note) process.stderr.write(`junction: ${choice.note}\n`);
  return choice.stateDir;
}

async function call(target: ApiTarget | Promise<ApiTarget>, method: string, path: string, body?: unknown, contentType?: string): Promise<unknown> {
  const response = await apiRequest(await target, method, path, body, { contentType }).catch((error: Error) => fail(`cannot reach the API (${visible(error.message)}); is \`junction serve\` running?`));
  if (response.status >= 400) {
    process.stderr.write(`${typeof response.body === 'string' ? visible(response.body) : safeJson(response.body)}\n`);
    process.exit(1);
  }
  return response.body;
}

interface PrintablePlan {
  changed: boolean;
  config?: Array<{ op: string; path: string; before?: unknown; after?: unknown }>;
  subsystems: Array<{ subsystem: string; add: string[]; remove: string[]; reordered: boolean; added?: number; removed?: number; truncated?: boolean }>;
  counts?: { configChanges: number };
}

/** A value on one line, shortened: the plan is for reading, the API has the whole value. */
const brief = (value: unknown) => {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
};

function printPlan(result: { plan?: PrintablePlan; revision?: { id: number }; dry_run?: boolean }): void {
  const plan = result.plan;
  const config = plan?.config ?? [];
  if (config.length) process.stdout.write('config:\n');
  for (const change of config) {
    if (change.op === 'change') process.stdout.write(`  ~ ${change.path}: ${brief(change.before)} -> ${brief(change.after)}\n`);
    else process.stdout.write(`  ${change.op === 'add' ? '+' : '-'} ${change.path}: ${brief(change.op === 'add' ? change.after : change.before)}\n`);
  }
  const moreConfig = (plan?.counts?.configChanges ?? config.length) - config.length;
  if (moreConfig > 0) process.stdout.write(`  ... and ${moreConfig} more config changes\n`);
  if (!plan?.changed) process.stdout.write('no kernel or daemon changes\n');
  for (const s of plan?.subsystems ?? []) {
    if (!s.add.length && !s.remove.length && !s.reordered) continue;
    process.stdout.write(`${s.subsystem}: +${s.added ?? s.add.length} -${s.removed ?? s.remove.length}\n`);
    for (const line of s.remove) process.stdout.write(`  - ${line}\n`);
    for (const line of s.add) process.stdout.write(`  + ${line}\n`);
    if (s.truncated) process.stdout.write(`  ... (first ${Math.max(s.add.length, s.remove.length)} lines shown)\n`);
    if (s.reordered) process.stdout.write('  ~ order changed\n');
  }
  if (result.revision) process.stdout.write(`committed revision ${result.revision.id}\n`);
  const pending = (result as { pending_confirm?: { deadline: string } }).pending_confirm;
  if (pending) process.stdout.write(`it reverts at ${pending.deadline} unless you run: junction confirm\n`);
  else if (result.dry_run) process.stdout.write('(dry run: nothing applied)\n');
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      'state-dir': { type: 'string' },
      listen: { type: 'string' },
      file: { type: 'string', short: 'f' },
      comment: { type: 'string' },
      api: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
      'confirm-timeout': { type: 'string' },
      'stop-daemons': { type: 'boolean' },
      'metrics-allow': { type: 'string' },
      'metrics-max-age': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-self-signed': { type: 'boolean' },
      ca: { type: 'string' },
      scope: { type: 'string' },
      'expires-in': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(`${commandHelp(command) ?? USAGE}\n`);
  switch (command) {
    case 'serve': {
      const [host, port] = ((values.listen as string) ?? '0.0.0.0:8080').split(/:(?=[0-9]+$)/);
      const [certFile, keyFile, selfSigned] = [values['tls-cert'] as string | undefined, values['tls-key'] as string | undefined, !!values['tls-self-signed']];
      if (!certFile !== !keyFile) fail('--tls-cert and --tls-key go together');
      if (selfSigned && certFile) fail('--tls-self-signed or --tls-cert/--tls-key, not both');
      const tls = certFile && keyFile ? { certFile, keyFile } : selfSigned ? { selfSigned: true as const } : undefined;
      const { serve } = await import('./serve.js'); // the appliance itself: only `serve` loads it
      const metricsAllow = ((values['metrics-allow'] as string | undefined) ?? '').split(',').map((c) => c.trim()).filter(Boolean);
      const badCidr = metricsAllow.find((cidr) => !parsePrefix(cidr));
      if (badCidr !== undefined) fail(`--metrics-allow: not an address or CIDR: ${visible(badCidr)}`);
      const maxAge = values['metrics-max-age'] === undefined ? undefined : Number(values['metrics-max-age']);
      if (maxAge !== undefined && !(maxAge >= 0 && maxAge <= 3600)) fail('--metrics-max-age: seconds from 0 to 3600');
      return serve({ stateDir: (values['state-dir'] as string) ?? DEFAULT_STATE_DIR, host, port: Number(port ?? 8080), stopDaemons: !!values['stop-daemons'], metricsAllow, metricsMaxAgeS: maxAge, ...(tls ? { tls } : {}) });
    }
    case 'down':
    case 'restart': {
      const stateDir = (values['state-dir'] as string | undefined) ?? (await chooseStateDirOrFail());
      const { down, restart } = await import('./lifecycle.js');
      if (command === 'down') for (const line of await down(stateDir)) process.stdout.write(`${line}\n`);
      else process.stdout.write(`${await restart(stateDir)}\n`);
      return;
    }
    case 'doctor': {
      if (process.getuid?.() !== 0) fail('doctor needs root: it asks the kernel (nft -c, a throwaway namespace and charon) as serve would');
      // loaded only here: doctor must work even where the appliance itself cannot load
      const [{ checkMachine }, { formatDoctorReport }, { SystemCommandRunner }] = await Promise.all([import('./requirements.js'), import('../platform/doctor.js'), import('../platform/command-runner.js')]);
      const report = await checkMachine(new SystemCommandRunner());
      process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
      process.exitCode = report.ok ? 0 : 1;
      return;
    }
    case 'apply':
    case 'plan': {
      if (!values.file) fail(`${command} needs -f FILE`);
      const text = readFileSync(values.file as string, 'utf8');
      const query = new URLSearchParams({
        ...(command === 'plan' ? { dry_run: 'true' } : {}),
        ...(values.comment ? { comment: values.comment as string } : {}),
        ...(values['confirm-timeout'] ? { confirm_timeout: values['confirm-timeout'] as string } : {}),
      });
      const yaml = !/\.json$/i.test(values.file as string);
      const result = await call(targetOf(values), 'PUT', `/v1/config?${query}`, text, yaml ? 'application/yaml' : 'application/json');
      if (values.json) process.stdout.write(`${safeJson(result)}\n`);
      else printPlan(result as Parameters<typeof printPlan>[0]);
      return;
    }
    case 'status': {
      const status = (await call(targetOf(values), 'GET', '/v1/status')) as {
        revision: number | null;
        interfaces: Array<{ name: string; configured_name?: string; selected_by?: string; state: string; mtu: number; addresses: string[]; role?: string; zone?: string }>;
        firewall: { rules: Array<{ id: string; packets: number; bytes: number }> };
        conntrack: { count: number | null };
        capabilities: { notes: string[] };
      };
      if (values.json) return void process.stdout.write(`${safeJson(status)}\n`);
      process.stdout.write(`revision ${visible(status.revision ?? 'none')}, conntrack entries ${visible(status.conntrack.count ?? 'n/a')}\n`);
      for (const i of status.interfaces) {
        const selected = i.configured_name && i.configured_name !== i.name ? ` (${visible(i.configured_name)} by ${visible(i.selected_by ?? '?')})` : '';
        process.stdout.write(`  ${visible(i.name).padEnd(10)} ${visible(i.role ?? '-').padEnd(5)} ${visible(i.zone ?? '-').padEnd(10)} ${visible(i.state).padEnd(8)} mtu ${visible(i.mtu)} ${i.addresses.map(visible).join(' ')}${selected}\n`);
      }
      for (const r of status.firewall.rules) process.stdout.write(`  rule ${visible(r.id)}: ${visible(r.packets)} packets, ${visible(r.bytes)} bytes\n`);
      for (const n of status.capabilities.notes) process.stdout.write(`  note: ${visible(n)}\n`);
      return;
    }
    case 'revisions': {
      const result = (await call(targetOf(values), 'GET', '/v1/revisions')) as { current: number; revisions: Array<{ id: number; createdAt: string; author: string; source: string; comment: string }> };
      if (values.json) return void process.stdout.write(`${safeJson(result)}\n`);
      for (const r of result.revisions) {
        process.stdout.write(`${r.id === result.current ? '*' : ' '} ${visible(r.id)}\t${visible(r.createdAt)}\t${visible(r.author)}\t${visible(r.source)}\t${visible(r.comment ?? '')}\n`);
      }
      return;
    }
    case 'rollback': {
      const id = Number(positionals[0]);
      if (!Number.isInteger(id) || id < 1) fail('rollback needs a revision number');
      printPlan((await call(targetOf(values), 'POST', `/v1/revisions/${id}/rollback`)) as Parameters<typeof printPlan>[0]);
      return;
    }
    case 'confirm':
    case 'cancel': {
      const result = await call(targetOf(values), 'POST', `/v1/commit/${command}`);
      if (command === 'cancel') printPlan(result as Parameters<typeof printPlan>[0]);
      else process.stdout.write(`confirmed revision ${visible((result as { confirmed: { revision: number } }).confirmed.revision)}\n`);
      return;
    }
    case 'token': {
      const target = targetOf(values);
      return tokenCommand((method, path, body) => call(target, method, path, body), fail, positionals, {
        scope: values.scope as string | undefined,
        expiresIn: values['expires-in'] as string | undefined,
        json: !!values.json,
      });
    }
    case 'lab':
      return fail('the namespace lab is a development tool of the source tree: run `npm run lab` (or `npm run lab:restart`, `npm run lab:down`) in a checkout');
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${commandHelp(positionals[0]) ?? USAGE}\n`);
      return;
    default:
      fail(`unknown command "${command}"\n${USAGE}`);
  }
}

exitQuietlyOnBrokenPipe();
main(process.argv.slice(2)).catch((error: Error) => fail(error.message));
