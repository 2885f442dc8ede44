// Typed VICI commands, one method per command charon offers that Junction
// uses. Message contents are never logged: load-shared and load-key carry
// secrets in `data`.
import { section, toPlain, type ViciInput, type ViciPlain, type ViciSection } from './codec.js';
import { DEFAULT_VICI_TIMEOUT_MS, ViciSession, type ViciEventListener, type ViciSessionOptions } from './session.js';
import { UnixSocketTransport, type ViciTransport } from './transport.js';

export interface ViciVersion {
  daemon: string;
  version: string;
  sysname: string;
  release: string;
  machine: string;
}

/** One streamed entry: list-sa and list-conn events each hold one named tree. */
export interface ViciNamedEntry {
  name: string;
  value: ViciPlain;
}

export type SharedSecretType = 'IKE' | 'EAP' | 'XAUTH' | 'NTLM' | 'PPK';

export interface SharedSecret {
  /** Always given: without an id the secret can never be unloaded. */
  id: string;
  type: SharedSecretType;
  data: string | Buffer;
  owners: string[];
}

export interface InitiateOptions {
  child?: string;
  ike?: string;
  /** Charon gives up after this many ms (-1 returns at once, 0 waits forever). */
  timeoutMs?: number;
  initLimits?: boolean;
  loglevel?: number;
}

export interface TerminateOptions {
  child?: string;
  ike?: string;
  childId?: number | string;
  ikeId?: number | string;
  force?: boolean;
  timeoutMs?: number;
  loglevel?: number;
}

/** One SA to rekey: by name or by unique id; reauth (IKEv2) reauthenticates instead of an inline rekey. */
export interface RekeyOptions {
  child?: string;
  ike?: string;
  childId?: number | string;
  ikeId?: number | string;
  reauth?: boolean;
}

export interface ViciSubscription {
  close(): void;
  /** Settles when the event connection ends (with the error, if it broke). */
  closed: Promise<Error | undefined>;
}

export interface ViciClientOptions extends ViciSessionOptions {}

/** Beyond charon's own timeout, how long to wait for its answer. */
const ANSWER_MARGIN_MS = 5_000;

function answerTimeout(charonTimeoutMs: number): number {
  if (charonTimeoutMs === 0) return 0;
  if (charonTimeoutMs < 0) return DEFAULT_VICI_TIMEOUT_MS;
  return charonTimeoutMs + ANSWER_MARGIN_MS;
}

function listOf(response: ViciSection, key: string): string[] {
  const value = response.get(key);
  return Array.isArray(value) ? value.map((item) => item.toString()) : [];
}

function namedEntries(events: ViciSection[]): ViciNamedEntry[] {
  return events.flatMap((event) => Object.entries(toPlain(event)).map(([name, value]) => ({ name, value: value as ViciPlain })));
}

export class ViciClient {
  private constructor(
    private readonly session: ViciSession,
    private readonly openTransport: () => ViciTransport,
    private readonly options: ViciClientOptions,
  ) {}

  /** Connects over a transport factory; subscribe() opens further connections from it. */
  static async open(openTransport: () => ViciTransport, options: ViciClientOptions = {}): Promise<ViciClient> {
    const session = new ViciSession(openTransport(), options);
    await session.connect();
    return new ViciClient(session, openTransport, options);
  }

  static connect(socketPath: string, options: ViciClientOptions = {}): Promise<ViciClient> {
    return ViciClient.open(() => new UnixSocketTransport(socketPath), options);
  }

  close(): void {
    this.session.close();
  }

  /** The connection's failure, if it broke (then open a new client). */
  get error(): Error | undefined {
    return this.session.error;
  }

  async version(): Promise<ViciVersion> {
    return toPlain(await this.session.request('version')) as unknown as ViciVersion;
  }

  async stats(): Promise<ViciPlain> {
    return toPlain(await this.session.request('stats'));
  }

  async reloadSettings(): Promise<void> {
    await this.session.request('reload-settings');
  }

  /** Loads or updates one connection; `config` holds swanctl.conf connection keys in order. */
  async loadConn(name: string, config: ViciSection): Promise<void> {
    await this.session.request('load-conn', section([[name, config]]));
  }

  async unloadConn(name: string): Promise<void> {
    await this.session.request('unload-conn', section([['name', name]]));
  }

  /** Names of connections loaded over VICI. */
  async getConns(): Promise<string[]> {
    return listOf(await this.session.request('get-conns'), 'conns');
  }

  async listConns(filter: { ike?: string } = {}): Promise<ViciNamedEntry[]> {
    const { events } = await this.session.stream('list-conns', 'list-conn', section([['ike', filter.ike]]));
    return namedEntries(events);
  }

  /** One entry per IKE_SA, named by its connection. */
  async listSas(filter: { ike?: string; ikeId?: number | string; child?: string; noblock?: boolean } = {}): Promise<ViciNamedEntry[]> {
    const message = section([
      ['noblock', filter.noblock ? 'yes' : undefined],
      ['ike', filter.ike],
      ['ike-id', filter.ikeId],
      ['child', filter.child],
    ]);
    const { events } = await this.session.stream('list-sas', 'list-sa', message, { timeoutMs: DEFAULT_VICI_TIMEOUT_MS });
    return namedEntries(events);
  }

  async loadShared(secret: SharedSecret): Promise<void> {
    await this.session.request(
      'load-shared',
      section([
        ['id', secret.id],
        ['type', secret.type],
        ['data', secret.data],
        ['owners', secret.owners],
      ]),
    );
  }

  async unloadShared(id: string): Promise<void> {
    await this.session.request('unload-shared', section([['id', id]]));
  }

  /** Ids of shared secrets loaded over VICI (never the secrets). */
  async getShared(): Promise<string[]> {
    return listOf(await this.session.request('get-shared'), 'keys');
  }

  async loadCert(cert: { type?: 'X509' | 'X509_AC' | 'X509_CRL'; flag?: 'NONE' | 'CA' | 'AA' | 'OCSP'; data: string | Buffer }): Promise<void> {
    await this.session.request(
      'load-cert',
      section([
        ['type', cert.type ?? 'X509'],
        ['flag', cert.flag ?? 'NONE'],
        ['data', cert.data],
      ]),
    );
  }

  /** Loads a private key and returns the id charon gives it (for unloadKey). */
  async loadKey(key: { type: 'ANY' | 'RSA' | 'ECDSA' | 'ED25519' | 'ED448'; data: string | Buffer }): Promise<string> {
    const response = await this.session.request('load-key', section([['type', key.type.toLowerCase()], ['data', key.data]]));
    return response.get('id')?.toString() ?? '';
  }

  async unloadKey(id: string): Promise<void> {
    await this.session.request('unload-key', section([['id', id]]));
  }

  /** Ids of private keys loaded over VICI (the ids loadKey returned). */
  async getKeys(): Promise<string[]> {
    return listOf(await this.session.request('get-keys'), 'keys');
  }

  /** Flushes the certificate cache, optionally of one type only. */
  async flushCerts(type?: string): Promise<void> {
    await this.session.request('flush-certs', section([['type', type]]));
  }

  /** Resolves once the SA is up; a ViciCommandError carries charon's reason (e.g. "... not established after Nms"). */
  async initiate(options: InitiateOptions): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    await this.session.request(
      'initiate',
      section([
        ['child', options.child],
        ['ike', options.ike],
        ['timeout', timeoutMs],
        ['init-limits', options.initLimits],
        ['loglevel', options.loglevel],
      ]),
      { timeoutMs: answerTimeout(timeoutMs) },
    );
  }

  async terminate(options: TerminateOptions): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    await this.session.request(
      'terminate',
      section([
        ['child', options.child],
        ['ike', options.ike],
        ['child-id', options.childId],
        ['ike-id', options.ikeId],
        ['force', options.force],
        ['timeout', timeoutMs],
        ['loglevel', options.loglevel],
      ]),
      { timeoutMs: answerTimeout(timeoutMs) },
    );
  }

  /** Queues a rekey (charon answers once it is queued, not when the exchange completes). */
  async rekey(options: RekeyOptions): Promise<void> {
    await this.session.request(
      'rekey',
      section([
        ['child', options.child],
        ['ike', options.ike],
        ['child-id', options.childId],
        ['ike-id', options.ikeId],
        ['reauth', options.reauth],
      ]),
    );
  }

  /** Raw access for commands without a typed method yet. */
  request(command: string, entries: Iterable<readonly [string, ViciInput]> = []): Promise<ViciSection> {
    return this.session.request(command, section(entries));
  }

  /**
   * Streams events (ike-updown, child-updown, ike-rekey, child-rekey, log,
   * control-log) on a separate connection, so long-lived listening never
   * blocks commands on this one.
   */
  async subscribe(events: string[], handler: ViciEventListener): Promise<ViciSubscription> {
    const session = new ViciSession(this.openTransport(), { ...this.options, timeoutMs: this.options.timeoutMs ?? DEFAULT_VICI_TIMEOUT_MS });
    const closed = new Promise<Error | undefined>((resolve) => session.onClose(resolve));
    await session.connect();
    session.onEvent(handler);
    try {
      for (const name of events) await session.registerEvent(name);
    } catch (error) {
      session.close();
      throw error;
    }
    return { close: () => session.close(), closed };
  }
}
