// One VICI conversation. Packets carry no sequence numbers, so commands run
// strictly one at a time (queued); events may arrive at any moment, even in
// the middle of a command, and are sorted out of the reply stream here.
import { section, ViciSection } from './codec.js';
import { ViciCommandError, ViciConnectionError, ViciProtocolError, ViciTimeoutError } from './errors.js';
import { decodePacket, encodePacket, FrameReader, PacketType, packetTypeName, type ViciPacket } from './framing.js';
import type { ViciTransport } from './transport.js';

export type ViciEventListener = (name: string, message: ViciSection) => void;

export interface ViciSessionOptions {
  /** How long to wait for the first byte of an answer frame; 0 waits forever. */
  timeoutMs?: number;
  /** Receives packet types and names only, never message contents (they can hold secrets). */
  trace?: (line: string) => void;
}

export interface RequestOptions {
  /** Overrides the session timeout for this command (e.g. a long initiate); 0 waits forever. */
  timeoutMs?: number;
}

export interface StreamResult {
  response: ViciSection;
  events: ViciSection[];
}

type Reply = Exclude<ViciPacket, { type: typeof PacketType.EVENT }>;

interface ReplyWaiter {
  command: string;
  timeoutMs: number;
  timer: NodeJS.Timeout | undefined;
  resolve: (packet: Reply) => void;
  reject: (error: Error) => void;
}

export const DEFAULT_VICI_TIMEOUT_MS = 15_000;

/** Throws ViciCommandError when a response carries success other than yes. */
export function checkSuccess(command: string, response: ViciSection): ViciSection {
  const success = response.get('success');
  if (success !== undefined && success.toString() !== 'yes') {
    const errmsg = response.get('errmsg');
    throw new ViciCommandError(command, errmsg === undefined ? '' : errmsg.toString());
  }
  return response;
}

export class ViciSession {
  private readonly reader = new FrameReader();
  private readonly timeoutMs: number;
  private readonly trace: (line: string) => void;
  private queue: Promise<unknown> = Promise.resolve();
  private operationActive = false;
  private replies: Reply[] = [];
  private waiter: ReplyWaiter | undefined;
  private failure: Error | undefined;
  private connected = false;
  private closedByCaller = false;
  private eventListeners = new Set<ViciEventListener>();
  private closeListeners = new Set<(error?: Error) => void>();
  /** The event a streamed command is collecting right now. */
  private collector: { eventName: string; events: ViciSection[]; onEvent?: (message: ViciSection) => void } | undefined;
  /** Events unregistered but maybe still in flight until EVENT_CONFIRM: dropped. */
  private draining = new Set<string>();

  constructor(
    private readonly transport: ViciTransport,
    options: ViciSessionOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_VICI_TIMEOUT_MS;
    this.trace = options.trace ?? (() => undefined);
    transport.onData((chunk) => this.receive(chunk));
    transport.onClose((error) => this.fail(new ViciConnectionError(`vici connection closed${error ? `: ${error.message}` : ''}`)));
  }

  async connect(): Promise<void> {
    await this.transport.connect();
    this.connected = true;
  }

  /** Why the session is unusable, if it is. */
  get error(): Error | undefined {
    return this.failure;
  }

  onEvent(listener: ViciEventListener): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onClose(listener: (error?: Error) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(): void {
    this.closedByCaller = true;
    this.fail(new ViciConnectionError('vici session closed'));
  }

  /** Sends a command and returns its response; a success other than yes throws ViciCommandError. */
  request(command: string, message: ViciSection = section(), options: RequestOptions = {}): Promise<ViciSection> {
    return this.exclusive(async () => checkSuccess(command, await this.exchangeCommand(command, message, options)));
  }

  /**
   * A command that streams its result as events (list-sas -> list-sa): register
   * the event, send the command, collect events until the response, then
   * unregister and drop leftovers until EVENT_CONFIRM.
   */
  stream(command: string, eventName: string, message: ViciSection = section(), options: RequestOptions & { onEvent?: (message: ViciSection) => void } = {}): Promise<StreamResult> {
    return this.exclusive(async () => {
      await this.exchangeRegistration(PacketType.EVENT_REGISTER, eventName);
      const events: ViciSection[] = [];
      this.collector = { eventName, events, ...(options.onEvent ? { onEvent: options.onEvent } : {}) };
      let response: ViciSection;
      try {
        response = await this.exchangeCommand(command, message, options);
      } finally {
        this.collector = undefined;
        if (!this.failure) {
          this.draining.add(eventName);
          try {
            await this.exchangeRegistration(PacketType.EVENT_UNREGISTER, eventName);
          } finally {
            this.draining.delete(eventName);
          }
        }
      }
      return { response: checkSuccess(command, response), events };
    });
  }

  /** Starts delivery of an event to the onEvent listeners. */
  registerEvent(name: string): Promise<void> {
    return this.exclusive(() => this.exchangeRegistration(PacketType.EVENT_REGISTER, name));
  }

  unregisterEvent(name: string): Promise<void> {
    return this.exclusive(async () => {
      this.draining.add(name);
      try {
        await this.exchangeRegistration(PacketType.EVENT_UNREGISTER, name);
      } finally {
        this.draining.delete(name);
      }
    });
  }

  // ---- one operation at a time ---------------------------------------------

  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.failure) throw new ViciConnectionError(`vici session unusable: ${this.failure.message}`);
      if (!this.connected) throw new ViciConnectionError('vici session not connected');
      this.operationActive = true;
      try {
        return await operation();
      } finally {
        this.operationActive = false;
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async exchangeCommand(command: string, message: ViciSection, options: RequestOptions): Promise<ViciSection> {
    this.send({ type: PacketType.CMD_REQUEST, name: command, message });
    const reply = await this.nextReply(command, options.timeoutMs ?? this.timeoutMs);
    if (reply.type === PacketType.CMD_RESPONSE) return reply.message;
    if (reply.type === PacketType.CMD_UNKNOWN) throw new ViciProtocolError(`vici command "${command}" is unknown to charon (CMD_UNKNOWN)`);
    throw this.fail(new ViciProtocolError(`vici ${command}: expected CMD_RESPONSE, got ${packetTypeName(reply.type)}`));
  }

  private async exchangeRegistration(type: typeof PacketType.EVENT_REGISTER | typeof PacketType.EVENT_UNREGISTER, name: string): Promise<void> {
    const what = `${type === PacketType.EVENT_REGISTER ? 'register' : 'unregister'} event ${name}`;
    this.send({ type, name });
    const reply = await this.nextReply(what, this.timeoutMs);
    if (reply.type === PacketType.EVENT_CONFIRM) return;
    if (reply.type === PacketType.EVENT_UNKNOWN) throw new ViciProtocolError(`vici ${what}: charon has no such event (EVENT_UNKNOWN)`);
    throw this.fail(new ViciProtocolError(`vici ${what}: expected EVENT_CONFIRM, got ${packetTypeName(reply.type)}`));
  }

  private send(packet: ViciPacket): void {
    const frame = encodePacket(packet); // encoding errors throw before anything is written
    this.trace(`> ${packetTypeName(packet.type)}${'name' in packet ? ` ${packet.name}` : ''}`);
    this.transport.write(frame);
  }

  private nextReply(command: string, timeoutMs: number): Promise<Reply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { command, timeoutMs, timer: undefined, resolve, reject };
      this.armTimer();
    });
  }

  // A timeout in the middle of a frame would leave the stream out of step,
  // so the clock only runs while no frame has started.
  private armTimer(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    if (waiter.timer) clearTimeout(waiter.timer);
    waiter.timer = undefined;
    if (waiter.timeoutMs > 0 && !this.reader.inFrame) {
      waiter.timer = setTimeout(() => this.fail(new ViciTimeoutError(waiter.command, waiter.timeoutMs)), waiter.timeoutMs);
    }
  }

  // ---- receiving ------------------------------------------------------------

  private receive(chunk: Buffer): void {
    if (this.failure) return;
    let frames: Buffer[];
    try {
      frames = this.reader.push(chunk);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    for (const frame of frames) {
      if (this.failure) return;
      let packet: ViciPacket;
      try {
        packet = decodePacket(frame);
      } catch (error) {
        this.fail(error as Error);
        return;
      }
      this.trace(`< ${packetTypeName(packet.type)}${'name' in packet ? ` ${packet.name}` : ''}`);
      if (packet.type === PacketType.EVENT) this.dispatchEvent(packet.name, packet.message);
      else this.deliverReply(packet);
    }
    this.armTimer();
  }

  private dispatchEvent(name: string, message: ViciSection): void {
    if (this.collector && this.collector.eventName === name) {
      this.collector.events.push(message);
      this.collector.onEvent?.(message);
      return;
    }
    if (this.draining.has(name)) return;
    for (const listener of this.eventListeners) {
      try {
        listener(name, message);
      } catch {
        // a failing listener must not break the protocol stream
      }
    }
  }

  private deliverReply(packet: Reply): void {
    if (!this.operationActive) {
      this.fail(new ViciProtocolError(`vici unexpected ${packetTypeName(packet.type)} with no command in flight`));
      return;
    }
    const waiter = this.waiter;
    if (waiter) {
      if (waiter.timer) clearTimeout(waiter.timer);
      this.waiter = undefined;
      waiter.resolve(packet);
    } else {
      this.replies.push(packet);
    }
  }

  /** Marks the session unusable, closes the transport and fails whatever waits. */
  private fail(error: Error): Error {
    if (this.failure) return error;
    this.failure = error;
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) {
      if (waiter.timer) clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.transport.close();
    for (const listener of this.closeListeners) listener(this.closedByCaller ? undefined : error);
    return error;
  }
}
