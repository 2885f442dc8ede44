// A charon for unit tests of the VPN subsystem: a supervised-daemon stand-in
// plus a VICI server over FakeViciTransport that keeps what was loaded
// (connections, shared secrets, private keys) and answers get-*/list-*
// the way strongSwan 5.9 does (list-conns in charon's own spelling: IKEv2,
// TUNNEL, seconds without "s", dpd_action restart as "start", selectors
// without host bits; test/unit/vpn/fixtures/list-conns.json is the real
// thing). `byHand` loads over the same interface as an operator would.
import { X509Certificate } from 'node:crypto';
import { section, toPlain, ViciSection, type ViciPlain, type ViciPlainValue } from '../../appliance/subsystems/vpn/vici/codec.js';
import { ViciClient } from '../../appliance/subsystems/vpn/vici/client.js';
import { PacketType, type ViciPacket } from '../../appliance/subsystems/vpn/vici/framing.js';
import type { CharonDaemon } from '../../appliance/subsystems/vpn/charon.js';
import { networkOf } from '../../appliance/model/ip.js';
import { FakeViciTransport } from './fake-vici-transport.js';

type Plain = Record<string, ViciPlainValue>;

function fromPlain(value: Plain): ViciSection {
  return section(Object.entries(value).map(([k, v]) => [k, typeof v === 'object' && !Array.isArray(v) ? fromPlain(v as Plain) : v] as [string, string | string[] | ViciSection]));
}

const ACTION: Record<string, string> = { restart: 'start', start: 'start', clear: 'none', none: 'none', trap: 'trap' };
const secs = (v: unknown, fallback: string) => (v === undefined ? fallback : String(v).replace(/s$/, ''));
const subject = (pem: string) => new X509Certificate(pem).subject.split('\n').map((rdn) => rdn.replaceAll('\\,', ',')).join(', ');
const list = (v: unknown) => (Array.isArray(v) ? (v as string[]) : v === undefined ? [] : [String(v)]);

/** What list-conns says about a connection loaded with `conn` (load-conn's body). */
export function listConnEntry(conn: Plain): Plain {
  const v1 = String(conn.version) === '1';
  const auth = (round: Plain | undefined) => ({
    ...(round?.id !== undefined ? { id: String(round.id).replace(/^@(?!#)/, '') } : {}),
    class: round?.auth === 'psk' ? 'pre-shared key' : 'public key',
    groups: [], cert_policy: [],
    certs: list(round?.certs).map(subject),
    cacerts: list(round?.cacerts).map(subject),
  });
  const children: Plain = {};
  for (const [name, raw] of Object.entries((conn.children as Plain | undefined) ?? {})) {
    const child = raw as Plain;
    children[name] = {
      mode: String(child.mode ?? 'tunnel').toUpperCase(),
      rekey_time: secs(child.rekey_time, '3600'), rekey_bytes: '0', rekey_packets: '0',
      dpd_action: ACTION[String(child.dpd_action ?? 'clear')]!,
      close_action: ACTION[String(child.close_action ?? 'none')]!,
      'local-ts': list(child.local_ts).map((ts) => networkOf(ts) ?? ts),
      'remote-ts': list(child.remote_ts).map((ts) => networkOf(ts) ?? ts),
    };
  }
  return {
    local_addrs: list(conn.local_addrs ?? '%any'),
    remote_addrs: list(conn.remote_addrs ?? '%any'),
    version: v1 ? 'IKEv1' : 'IKEv2',
    reauth_time: v1 ? secs(conn.reauth_time, '0') : '0',
    rekey_time: v1 ? '0' : secs(conn.rekey_time, '14400'),
    unique: 'UNIQUE_NO',
    ...(conn.dpd_delay !== undefined && secs(conn.dpd_delay, '0') !== '0' ? { dpd_delay: secs(conn.dpd_delay, '0') } : {}),
    ...(conn.dpd_timeout !== undefined ? { dpd_timeout: secs(conn.dpd_timeout, '0') } : {}),
    'local-1': auth(conn.local as Plain | undefined),
    'remote-1': auth(conn.remote as Plain | undefined),
    children,
  };
}

export class FakeCharon {
  readonly conns = new Map<string, Plain>();
  readonly shared = new Map<string, { data: string; owners: string[] }>();
  readonly keys = new Map<string, string>();
  /** list-sas entries, by connection name */
  sas: Array<{ name: string; value: ViciPlain }> = [];
  /** commands received, with the name they concern (never a secret) */
  readonly commands: string[] = [];
  pid: number | undefined = 4242;
  restartCount = 0;
  starts = 0;
  /** commands answered with success=no and this errmsg */
  readonly refuse = new Map<string, string>();
  private keyCounter = 0;

  /** The daemon seam (VpnSubsystemOptions.launchCharon). */
  readonly launch = (): CharonDaemon => {
    const charon = this;
    return {
      get pid() { return charon.pid; },
      get restartCount() { return charon.restartCount; },
      socketPath: '/fake/charon.vici',
      logPath: '/fake/charon.log',
      get origin() { return charon.pid === undefined ? undefined : { how: 'started' as const, pid: charon.pid, at: '' }; },
      adopt: async () => false,
      start: async () => { charon.starts++; },
      stop: async () => undefined,
      detach: () => undefined,
      onRestart: () => () => undefined,
    };
  };

  /** The VICI seam (VpnSubsystemOptions.connectVici). */
  readonly connect = (): Promise<ViciClient> => ViciClient.open(() => this.transport());

  /** An operator's own VICI client (changes behind Junction's back). */
  byHand(): Promise<ViciClient> {
    return this.connect();
  }

  /** The commands that changed something, e.g. "load-conn site". */
  writes(): string[] {
    return this.commands.filter((c) => /^(load|unload|initiate|terminate)-?/.test(c));
  }

  private transport(): FakeViciTransport {
    const transport = new FakeViciTransport();
    transport.respond = (packet, t) => this.answer(packet, t);
    return transport;
  }

  private answer(packet: ViciPacket, t: FakeViciTransport): void {
    if (packet.type === PacketType.EVENT_REGISTER || packet.type === PacketType.EVENT_UNREGISTER) return t.reply({ type: PacketType.EVENT_CONFIRM });
    if (packet.type !== PacketType.CMD_REQUEST) return;
    const body = toPlain(packet.message) as Plain;
    const refusal = this.refuse.get(packet.name);
    if (refusal !== undefined) return t.reply({ type: PacketType.CMD_RESPONSE, message: section([['success', 'no'], ['errmsg', refusal]]) });
    const ok = (entries: Array<[string, string | string[]]> = []) => t.reply({ type: PacketType.CMD_RESPONSE, message: section([['success', 'yes'], ...entries]) });
    const stream = (event: string, entries: Array<[string, Plain]>) => t.reply(
      ...entries.map(([name, value]): ViciPacket => ({ type: PacketType.EVENT, name: event, message: section([[name, fromPlain(value)]]) })),
      { type: PacketType.CMD_RESPONSE, message: section() },
    );
    switch (packet.name) {
      case 'load-conn': {
        const [name, conn] = Object.entries(body)[0]!;
        this.commands.push(`load-conn ${name}`);
        this.conns.set(name, conn as Plain);
        return ok();
      }
      case 'unload-conn':
        this.commands.push(`unload-conn ${String(body.name)}`);
        this.conns.delete(String(body.name));
        return ok();
      case 'get-conns':
        return ok([['conns', [...this.conns.keys()]]]);
      case 'list-conns':
        return stream('list-conn', [...this.conns].map(([name, conn]) => [name, listConnEntry(conn)]));
      case 'list-sas':
        return stream('list-sa', this.sas.filter((sa) => body.ike === undefined || sa.name === body.ike).map((sa) => [sa.name, sa.value as Plain]));
      case 'load-shared':
        this.commands.push(`load-shared ${String(body.id)}`);
        this.shared.set(String(body.id), { data: String(body.data), owners: list(body.owners) });
        return ok();
      case 'unload-shared':
        this.commands.push(`unload-shared ${String(body.id)}`);
        this.shared.delete(String(body.id));
        return ok();
      case 'get-shared':
        return ok([['keys', [...this.shared.keys()]]]);
      case 'load-key': {
        const id = `key${++this.keyCounter}`;
        this.commands.push(`load-key ${id}`);
        this.keys.set(id, String(body.data));
        return ok([['id', id]]);
      }
      case 'unload-key':
        this.commands.push(`unload-key ${String(body.id)}`);
        this.keys.delete(String(body.id));
        return ok();
      case 'get-keys':
        return ok([['keys', [...this.keys.keys()]]]);
      case 'version':
        return ok([['daemon', 'charon'], ['version', '5.9.8']]);
      case 'initiate':
      case 'terminate':
        this.commands.push(`${packet.name} ${String(body.ike ?? body.child ?? body['child-id'] ?? '')}`);
        return ok();
      case 'rekey':
        this.commands.push(`rekey ${body['ike-id'] !== undefined ? `ike-id ${String(body['ike-id'])}` : `child-id ${String(body['child-id'])}`}`);
        return ok();
      default:
        return t.reply({ type: PacketType.CMD_UNKNOWN });
    }
  }
}
