// A scripted stand-in for charon's VICI socket: records what the client
// wrote (as decoded packets) and lets a test answer with packets or raw bytes.
import { decodePacket, encodePacket, FrameReader, type ViciPacket } from '../../appliance/subsystems/vpn/vici/framing.js';
import type { ViciTransport } from '../../appliance/subsystems/vpn/vici/transport.js';

export class FakeViciTransport implements ViciTransport {
  readonly written: ViciPacket[] = [];
  closed = false;
  private reader = new FrameReader();
  private dataListener: (chunk: Buffer) => void = () => undefined;
  private closeListener: (error?: Error) => void = () => undefined;
  /** Called for each packet the client writes; answer via this.reply(). */
  respond: (packet: ViciPacket, fake: FakeViciTransport) => void = () => undefined;

  async connect(): Promise<void> {}

  write(data: Buffer): void {
    if (this.closed) throw new Error('fake transport closed');
    for (const frame of this.reader.push(data)) {
      const packet = decodePacket(frame);
      this.written.push(packet);
      this.respond(packet, this);
    }
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.dataListener = listener;
  }

  onClose(listener: (error?: Error) => void): void {
    this.closeListener = listener;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeListener();
  }

  /** Delivers packets to the client asynchronously, as a socket would. */
  reply(...packets: ViciPacket[]): void {
    const bytes = Buffer.concat(packets.map((p) => encodePacket(p)));
    queueMicrotask(() => this.dataListener(bytes));
  }

  /** Delivers raw bytes at once (for partial frames and garbage). */
  feed(bytes: Buffer): void {
    this.dataListener(bytes);
  }

  /** The peer hangs up. */
  hangUp(error?: Error): void {
    this.closed = true;
    this.closeListener(error);
  }

  /** "CMD_REQUEST version", "EVENT_REGISTER list-sa", ... */
  transcript(): string[] {
    const names = ['CMD_REQUEST', 'CMD_RESPONSE', 'CMD_UNKNOWN', 'EVENT_REGISTER', 'EVENT_UNREGISTER', 'EVENT_CONFIRM', 'EVENT_UNKNOWN', 'EVENT'];
    return this.written.map((p) => `${names[p.type]}${'name' in p ? ` ${p.name}` : ''}`);
  }
}
