// Client for BIRD's control socket: the line protocol spoken directly over
// node:net (no birdc, no screen scraping). One command at a time, because
// BIRD answers strictly in order and replies carry no request id.
import net from 'node:net';
import { BirdProtocolError, BirdReplyError, ReplyCode, ReplyParser, isErrorCode, type BirdReply } from './reply-codes.js';

export interface BirdSocketOptions {
  /** per command (and for the greeting); default 30 s, a big `configure` can take a while */
  timeoutMs?: number;
}

/** The narrow seam the subsystem uses; the lab uses BirdSocket, unit tests a fake. */
export interface BirdControl {
  command(command: string): Promise<BirdReply>;
}

interface Waiter {
  command: string;
  resolve: (reply: BirdReply) => void;
  reject: (error: Error) => void;
}

export class BirdSocket implements BirdControl {
  private readonly parser = new ReplyParser();
  private waiters: Waiter[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private closedError: Error | undefined;
  /** the 0001 greeting, e.g. "BIRD 2.0.12 ready." */
  greeting = '';

  private constructor(
    private readonly socket: net.Socket,
    private readonly timeoutMs: number,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new BirdProtocolError('bird control socket closed')));
  }

  /** Connects and waits for BIRD's 0001 greeting. */
  static async connect(path: string, options: BirdSocketOptions = {}): Promise<BirdSocket> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const socket = net.createConnection(path);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new BirdSocket(socket, timeoutMs);
    const hello = await client.expect('(greeting)');
    if (hello.code !== ReplyCode.welcome) {
      client.close();
      throw new BirdProtocolError(`expected the 0001 greeting, got ${hello.code}`);
    }
    client.greeting = hello.lines[0]?.text ?? '';
    return client;
  }

  /** Sends one command; resolves with its reply, rejects with BirdReplyError on 8xxx/9xxx. */
  command(command: string): Promise<BirdReply> {
    if (/[\r\n]/.test(command)) return Promise.reject(new BirdProtocolError('a command must be one line'));
    const run = this.chain.then(async () => {
      if (this.closedError) throw this.closedError;
      const reply = this.expect(command);
      this.socket.write(`${command}\n`);
      const result = await reply;
      if (isErrorCode(result.code)) throw new BirdReplyError(command, result.code, result);
      return result;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.closedError ??= new BirdProtocolError('bird control socket closed');
    this.socket.destroy();
  }

  private expect(command: string): Promise<BirdReply> {
    return new Promise<BirdReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new BirdProtocolError(`no reply from bird to "${command}" within ${this.timeoutMs} ms`));
        this.socket.destroy();
      }, this.timeoutMs);
      this.waiters.push({
        command,
        resolve: (r) => { clearTimeout(timer); resolve(r); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
    });
  }

  private onData(chunk: string): void {
    let replies: BirdReply[];
    try {
      replies = this.parser.push(chunk);
    } catch (e) {
      this.fail(e as Error);
      this.socket.destroy();
      return;
    }
    for (const reply of replies) {
      const waiter = this.waiters.shift();
      if (!waiter) return this.fail(new BirdProtocolError('reply from bird without a command'));
      waiter.resolve(reply);
    }
  }

  private fail(error: Error): void {
    this.closedError ??= error;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(error);
  }
}

/** Connects, runs one command, closes. */
export async function birdCommand(socketPath: string, command: string, options?: BirdSocketOptions): Promise<BirdReply> {
  const client = await BirdSocket.connect(socketPath, options);
  try {
    return await client.command(command);
  } finally {
    client.close();
  }
}

/** Quotes a value for a BIRD command (file names, protocol patterns). BIRD strings have no escapes. */
export function quoteBird(value: string): string {
  if (/["\r\n]/.test(value)) throw new BirdProtocolError(`cannot quote for bird: ${JSON.stringify(value)}`);
  return `"${value}"`;
}
