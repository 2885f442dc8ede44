// VICI transport and packet layers: 32-bit big-endian length frames, then a
// packet type byte, an optional 1-byte-length name and an optional message.
import { decodeMessage, encodeMessage, ViciSection } from './codec.js';
import { ViciEncodeError, ViciProtocolError } from './errors.js';

/** charon drops the connection on a bigger header. */
export const MAX_FRAME_BYTES = 512 * 1024;

export const PacketType = {
  CMD_REQUEST: 0,
  CMD_RESPONSE: 1,
  CMD_UNKNOWN: 2,
  EVENT_REGISTER: 3,
  EVENT_UNREGISTER: 4,
  EVENT_CONFIRM: 5,
  EVENT_UNKNOWN: 6,
  EVENT: 7,
} as const;

export type ViciPacket =
  | { type: typeof PacketType.CMD_REQUEST; name: string; message: ViciSection }
  | { type: typeof PacketType.CMD_RESPONSE; message: ViciSection }
  | { type: typeof PacketType.CMD_UNKNOWN }
  | { type: typeof PacketType.EVENT_REGISTER; name: string }
  | { type: typeof PacketType.EVENT_UNREGISTER; name: string }
  | { type: typeof PacketType.EVENT_CONFIRM }
  | { type: typeof PacketType.EVENT_UNKNOWN }
  | { type: typeof PacketType.EVENT; name: string; message: ViciSection };

export function packetTypeName(type: number): string {
  return Object.entries(PacketType).find(([, v]) => v === type)?.[0] ?? `type ${type}`;
}

/** Prefixes a payload with its length. */
export function encodeFrame(payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_BYTES) throw new ViciEncodeError(`vici frame of ${payload.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length);
  return Buffer.concat([header, payload]);
}

function nameBytes(name: string): Buffer {
  const bytes = Buffer.from(name, 'ascii');
  if (bytes.length > 255) throw new ViciEncodeError(`vici packet name longer than 255 bytes`);
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/** Encodes a packet into one complete frame (header included). */
export function encodePacket(packet: ViciPacket): Buffer {
  const type = Buffer.from([packet.type]);
  switch (packet.type) {
    case PacketType.CMD_REQUEST:
    case PacketType.EVENT:
      return encodeFrame(Buffer.concat([type, nameBytes(packet.name), encodeMessage(packet.message)]));
    case PacketType.EVENT_REGISTER:
    case PacketType.EVENT_UNREGISTER:
      return encodeFrame(Buffer.concat([type, nameBytes(packet.name)]));
    case PacketType.CMD_RESPONSE:
      return encodeFrame(Buffer.concat([type, encodeMessage(packet.message)]));
    default:
      return encodeFrame(type);
  }
}

/** Decodes one frame payload (without its length header). */
export function decodePacket(payload: Buffer): ViciPacket {
  if (payload.length === 0) throw new ViciProtocolError('vici empty frame');
  const type = payload[0]!;
  const readName = (): { name: string; rest: Buffer } => {
    if (payload.length < 2) throw new ViciProtocolError(`vici ${packetTypeName(type)} without name`);
    const length = payload[1]!;
    if (payload.length < 2 + length) throw new ViciProtocolError(`vici ${packetTypeName(type)} name truncated`);
    return { name: payload.subarray(2, 2 + length).toString('ascii'), rest: payload.subarray(2 + length) };
  };
  const expectEmpty = (): void => {
    if (payload.length !== 1) throw new ViciProtocolError(`vici ${packetTypeName(type)} carries ${payload.length - 1} unexpected bytes`);
  };
  switch (type) {
    case PacketType.CMD_REQUEST:
    case PacketType.EVENT: {
      const { name, rest } = readName();
      return { type, name, message: decodeMessage(rest) };
    }
    case PacketType.EVENT_REGISTER:
    case PacketType.EVENT_UNREGISTER: {
      const { name, rest } = readName();
      if (rest.length) throw new ViciProtocolError(`vici ${packetTypeName(type)} carries unexpected bytes`);
      return { type, name };
    }
    case PacketType.CMD_RESPONSE:
      return { type, message: decodeMessage(payload.subarray(1)) };
    case PacketType.CMD_UNKNOWN:
    case PacketType.EVENT_CONFIRM:
    case PacketType.EVENT_UNKNOWN:
      expectEmpty();
      return { type };
    default:
      throw new ViciProtocolError(`vici unknown packet type ${type}`);
  }
}

/**
 * Cuts a byte stream into frame payloads, whatever the chunking: a chunk may
 * hold part of a frame or several frames. After a ViciProtocolError the
 * stream is out of step and the reader must not be used again.
 */
export class FrameReader {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;

  /** True while some bytes of an unfinished frame are held (then a timeout would corrupt the stream). */
  get inFrame(): boolean {
    return this.bufferedBytes > 0;
  }

  push(chunk: Buffer): Buffer[] {
    if (chunk.length) {
      this.buffered.push(chunk);
      this.bufferedBytes += chunk.length;
    }
    const frames: Buffer[] = [];
    for (;;) {
      if (this.bufferedBytes < 4) break;
      if (this.buffered[0]!.length < 4) this.buffered = [Buffer.concat(this.buffered, this.bufferedBytes)];
      const length = this.buffered[0]!.readUInt32BE(0);
      if (length > MAX_FRAME_BYTES) throw new ViciProtocolError(`vici frame header announces ${length} bytes, more than ${MAX_FRAME_BYTES}`);
      // join chunks only once the whole frame is here: no quadratic copying
      if (this.bufferedBytes < 4 + length) break;
      const data = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered, this.bufferedBytes);
      frames.push(Buffer.from(data.subarray(4, 4 + length)));
      const rest = data.subarray(4 + length);
      this.buffered = rest.length ? [rest] : [];
      this.bufferedBytes = rest.length;
    }
    return frames;
  }
}
