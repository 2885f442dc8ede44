// Does this kernel do TCP MD5 signatures (RFC 2385, CONFIG_TCP_MD5SIG)?
// BGP `password` depends on it; without it BIRD cannot open the session and
// we must say so plainly instead of showing a neighbor stuck in Connect.
// First the kernel config when the kernel exposes it, else a real BIRD
// session with a password in a throwaway network namespace.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { CommandRunner } from '../../platform/command-runner.js';
import { BirdProcess } from './bird-process.js';
import { BirdSocket } from './bird-socket.js';
import { parseProtocols } from './bird-status.js';

export interface Md5Capability {
  supported: boolean;
  how: 'kernel-config' | 'bird-probe';
  detail: string;
}

/** Reads CONFIG_TCP_MD5SIG from /proc/config.gz; undefined when the kernel does not expose its config. */
export function md5FromKernelConfig(configGzPath = '/proc/config.gz'): Md5Capability | undefined {
  let text: string;
  try {
    text = gunzipSync(readFileSync(configGzPath)).toString('utf8');
  } catch {
    return undefined;
  }
  const line = text.split('\n').find((l) => /^(# )?CONFIG_TCP_MD5SIG[= ]/.test(l));
  const supported = line === 'CONFIG_TCP_MD5SIG=y';
  return { supported, how: 'kernel-config', detail: `${configGzPath}: ${line ?? 'CONFIG_TCP_MD5SIG absent'}` };
}

/**
 * Starts a bird with one password-protected session in a fresh namespace
 * and looks at what BIRD reports. Needs root and iproute2.
 */
export async function md5FromBirdProbe(runner: CommandRunner, name = `jnbmd5${process.pid}`): Promise<Md5Capability> {
  const dir = mkdtempSync(path.join(tmpdir(), 'jnb-md5-'));
  const bird = new BirdProcess({ stateDir: dir, netns: name });
  const log = () => bird.recentLog().join(' | ');
  try {
    const added = await runner.run('ip', ['netns', 'add', name]);
    if (added.code !== 0) throw new Error(`ip netns add ${name}: ${added.stderr.trim()}`);
    await runner.run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    await runner.run('ip', ['-n', name, 'addr', 'add', '127.0.0.2/8', 'dev', 'lo']);
    writeFileSync(bird.configFile, [
      'router id 127.0.0.1;',
      'timeformat protocol iso long ms;',
      'log stderr all;',
      'protocol device {}',
      'protocol bgp probe { local 127.0.0.1 as 65000; neighbor 127.0.0.2 as 65001; multihop; password "probe"; ipv4 { import none; export none; }; }',
      '',
    ].join('\n'));
    await bird.start();
    await new Promise((r) => setTimeout(r, 1500));
    const client = await BirdSocket.connect(bird.socketPath);
    const [probe] = parseProtocols(await client.command('show protocols all probe'));
    client.close();
    const complaint = [probe?.lastError ?? '', log()].join(' ');
    const supported = !!probe && probe.state === 'start' && !/md5|signature|not supported|protocol not available/i.test(complaint);
    return {
      supported,
      how: 'bird-probe',
      detail: `BGP session with password: state ${probe?.state ?? '?'}/${probe?.bgpState ?? '?'}${probe?.lastError ? `, last error "${probe.lastError}"` : ''}`,
    };
  } finally {
    await bird.stop();
    await runner.run('ip', ['netns', 'del', name]);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function probeTcpMd5(runner: CommandRunner): Promise<Md5Capability> {
  return md5FromKernelConfig() ?? md5FromBirdProbe(runner);
}
