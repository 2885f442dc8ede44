import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { CharonProcess } from '../../../appliance/subsystems/vpn/charon-process.js';
import { charonPlugins, renderStrongswanConf } from '../../../appliance/subsystems/vpn/strongswan-conf.js';

describe('renderStrongswanConf', () => {
  it('lists plugins explicitly, kernel-libipsec before kernel-netlink', () => {
    expect(charonPlugins({ dataplane: 'libipsec' })).toEqual([
      'random', 'nonce', 'openssl', 'kdf', 'x509', 'pubkey', 'pkcs1', 'pkcs8', 'pem', 'constraints', 'revocation',
      'kernel-libipsec', 'kernel-netlink', 'socket-default', 'vici',
    ]);
    expect(charonPlugins({ dataplane: 'xfrm', updown: true }).slice(-4)).toEqual(['kernel-netlink', 'socket-default', 'vici', 'updown']);
  });

  it('puts the socket and log under the state dir and caps the log level', () => {
    const conf = renderStrongswanConf({ stateDir: '/var/lib/junction/vpn', dataplane: 'libipsec', loglevel: 4, threads: 24, libipsec: { allowPeerTs: true } });
    expect(conf).toContain('load_modular = no');
    expect(conf).toContain('socket = "unix:///var/lib/junction/vpn/charon.vici"');
    expect(conf).toContain('path = "/var/lib/junction/vpn/charon.log"');
    expect(conf).toContain('default = 3');
    expect(conf).toContain('threads = 24');
    expect(conf).toContain('allow_peer_ts = yes');
    expect(renderStrongswanConf({ stateDir: '/s', dataplane: 'xfrm' })).not.toContain('kernel-libipsec {');
  });

  it('refuses too few worker threads (charon would stop answering VICI)', () => {
    expect(() => renderStrongswanConf({ stateDir: '/s', dataplane: 'libipsec', threads: 8 })).toThrow(RangeError);
  });
});

/** A fake charon: "starts" by listening on the VICI socket, "dies" on kill(). */
class FakeCharon extends EventEmitter {
  static nextPid = 4000;
  readonly pid = FakeCharon.nextPid++;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly server: net.Server;
  constructor(socketPath: string) {
    super();
    this.server = net.createServer((c) => c.destroy()).listen(socketPath);
  }
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    this.server.close();
    this.signalCode = signal;
    queueMicrotask(() => this.emit('exit', null, signal));
    return true;
  }
}

describe('CharonProcess supervision (fake spawn)', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('spawns charon through unshare in the netns, writes its conf, restarts it with backoff and tells listeners', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jn-charon-unit-'));
    dirs.push(stateDir);
    const spawned: Array<{ program: string; args: string[]; conf?: string; child: FakeCharon }> = [];
    const charon = new CharonProcess({
      stateDir,
      dataplane: 'libipsec',
      netns: 'jn-test',
      restartBackoff: { initialMs: 10, maxMs: 40 },
      spawnProcess: (program, args, options) => {
        const child = new FakeCharon(path.join(stateDir, 'charon.vici'));
        spawned.push({ program, args, ...(options.env.STRONGSWAN_CONF ? { conf: options.env.STRONGSWAN_CONF } : {}), child });
        return child as unknown as ChildProcess;
      },
    });
    await charon.start();
    expect(spawned[0]!.program).toBe('ip');
    expect(spawned[0]!.args.slice(0, 5)).toEqual(['netns', 'exec', 'jn-test', 'sh', '-c']);
    // a private /run through unshare where a mount namespace can be made, else the container's own
    expect(spawned[0]!.args[5]).toMatch(/^if unshare -m true 2>\/dev\/null; then exec unshare -m sh -c 'mount -t tmpfs tmpfs \/run && exec "\$0"' "\$0"; else exec "\$0"; fi$/);
    expect(spawned[0]!.args.at(-1)).toBe('/usr/lib/ipsec/charon');
    expect(spawned[0]!.conf).toBe(path.join(stateDir, 'strongswan.conf'));
    expect(fs.readFileSync(charon.confPath, 'utf8')).toContain('kernel-libipsec');
    expect(charon.pid).toBe(spawned[0]!.child.pid);

    let restarts = 0;
    const restarted = new Promise<void>((resolve) => charon.onRestart(() => (++restarts === 2 ? resolve() : undefined)));
    spawned[0]!.child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    spawned[1]!.child.kill('SIGKILL');
    await restarted;
    expect(spawned.length).toBe(3);
    expect(charon.pid).toBe(spawned[2]!.child.pid);
    expect(charon.restartCount).toBe(2);

    await charon.stop();
    expect(spawned[2]!.child.signalCode).toBe('SIGTERM');
    await new Promise((r) => setTimeout(r, 50));
    expect(spawned.length).toBe(3); // no restart after stop
    const log = fs.readFileSync(charon.logPath, 'utf8');
    expect(log).toContain('restarting charon in 10 ms');
    expect(log).toContain('restarting charon in 20 ms');
  });

  it('fails start() when charon exits before opening its socket, without restarting it', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jn-charon-unit-'));
    dirs.push(stateDir);
    let spawns = 0;
    const charon = new CharonProcess({
      stateDir,
      dataplane: 'xfrm',
      restartBackoff: { initialMs: 5, maxMs: 5 },
      spawnProcess: () => {
        spawns++;
        const child = Object.assign(new EventEmitter(), { pid: 1, exitCode: null as number | null, signalCode: null, kill: () => true });
        setTimeout(() => {
          child.exitCode = 1;
          child.emit('exit', 1, null);
        }, 5);
        return child as unknown as ChildProcess;
      },
    });
    await expect(charon.start()).rejects.toThrow(/exited with code 1 during start/);
    await new Promise((r) => setTimeout(r, 50));
    expect(spawns).toBe(1);
  });
});
