import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, section, toPlain, ViciSection } from '../../../appliance/subsystems/vpn/vici/codec.js';
import { ViciEncodeError, ViciProtocolError } from '../../../appliance/subsystems/vpn/vici/errors.js';
import { decodePacket, encodeFrame, encodePacket, FrameReader, MAX_FRAME_BYTES, PacketType } from '../../../appliance/subsystems/vpn/vici/framing.js';

const ascii = (s: string): number[] => [...Buffer.from(s, 'ascii')];

// The encoding example from strongSwan's vici README.
const README_EXAMPLE = Buffer.from([
  3, 4, ...ascii('key1'), 0, 6, ...ascii('value1'),
  1, 8, ...ascii('section1'),
  1, 11, ...ascii('sub-section'),
  3, 4, ...ascii('key2'), 0, 6, ...ascii('value2'),
  2,
  4, 5, ...ascii('list1'),
  5, 0, 5, ...ascii('item1'),
  5, 0, 5, ...ascii('item2'),
  6,
  2,
]);

const readmeMessage = (): ViciSection =>
  section([
    ['key1', 'value1'],
    ['section1', section([['sub-section', section([['key2', 'value2']])], ['list1', ['item1', 'item2']]])],
  ]);

describe('vici message codec', () => {
  it('encodes the README example byte for byte', () => {
    expect(encodeMessage(readmeMessage()).equals(README_EXAMPLE)).toBe(true);
  });

  it('decodes the README example', () => {
    expect(toPlain(decodeMessage(README_EXAMPLE))).toEqual({
      key1: 'value1',
      section1: { 'sub-section': { key2: 'value2' }, list1: ['item1', 'item2'] },
    });
  });

  it('keeps integer-like keys in insertion order (plain objects would not)', () => {
    const message = section([['b', '1'], ['10', 'x'], ['2', 'y']]);
    expect(decodeMessage(encodeMessage(message)).keys()).toEqual(['b', '10', '2']);
  });

  it('writes numbers as decimal strings and booleans as yes/no, and leaves out undefined', () => {
    const bytes = encodeMessage(section([['timeout', 5000], ['force', true], ['ike', undefined], ['limits', [1, 2]]]));
    expect(toPlain(decodeMessage(bytes))).toEqual({ timeout: '5000', force: 'yes', limits: ['1', '2'] });
  });

  it('round-trips binary values, empty sections and empty lists', () => {
    const der = Buffer.from([0x30, 0x82, 0x00, 0xff, 0x00]);
    const message = section([['data', der], ['empty', section()], ['none', []], ['s', '']]);
    const decoded = decodeMessage(encodeMessage(message));
    expect(Buffer.isBuffer(decoded.get('data')) && (decoded.get('data') as Buffer).equals(der)).toBe(true);
    expect(decoded.get('empty')).toBeInstanceOf(ViciSection);
    expect(decoded.get('none')).toEqual([]);
    expect(encodeMessage(decoded).equals(encodeMessage(message))).toBe(true);
  });

  it('set() replaces a key in place', () => {
    const message = section([['a', '1'], ['b', '2']]).set('a', '3');
    expect(message.entries).toEqual([['a', '3'], ['b', '2']]);
  });

  it('rejects keys over 255 bytes and values over 65535 bytes without echoing the value', () => {
    expect(() => encodeMessage(section([['k'.repeat(256), 'v']]))).toThrow(ViciEncodeError);
    expect(() => encodeMessage(section([['k'.repeat(255), 'v']]))).not.toThrow();
    const secret = 's'.repeat(65_536);
    let error: Error | undefined;
    try {
      encodeMessage(section([['data', secret]]));
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(ViciEncodeError);
    expect(error!.message).toContain('"data"');
    expect(error!.message).not.toContain('sss');
    expect(() => encodeMessage(section([['data', 'v'.repeat(65_535)]]))).not.toThrow();
  });

  it('rejects duplicate keys', () => {
    const message = new ViciSection();
    message.entries.push(['a', '1'], ['a', '2']);
    expect(() => encodeMessage(message)).toThrow(/twice/);
    expect(() => decodeMessage(Buffer.from([3, 1, 97, 0, 0, 3, 1, 97, 0, 0]))).toThrow(ViciProtocolError);
  });

  it.each([
    ['truncated value', Buffer.from([3, 4, ...ascii('key1'), 0, 6, ...ascii('val')])],
    ['truncated name', Buffer.from([1, 8, ...ascii('sec')])],
    ['truncated value length', Buffer.from([5])],
    ['unknown element type', Buffer.from([9])],
    ['element type zero', Buffer.from([0])],
    ['unclosed section', Buffer.from([1, 1, 115])],
    ['section end at root', Buffer.from([2])],
    ['unclosed list', Buffer.from([4, 1, 108, 5, 0, 1, 120])],
    ['list item outside a list', Buffer.from([5, 0, 1, 120])],
    ['list end without list', Buffer.from([6])],
    ['key/value inside a list', Buffer.from([4, 1, 108, 3, 1, 107, 0, 0, 6])],
    ['section inside a list', Buffer.from([4, 1, 108, 1, 1, 115, 2, 6])],
  ])('rejects a malformed message: %s', (_name, bytes) => {
    expect(() => decodeMessage(bytes)).toThrow(ViciProtocolError);
  });
});

describe('vici framing and packets', () => {
  it('encodes a CMD_REQUEST with a 32-bit big-endian length', () => {
    const frame = encodePacket({ type: PacketType.CMD_REQUEST, name: 'version', message: section() });
    expect([...frame]).toEqual([0, 0, 0, 9, 0, 7, ...ascii('version')]);
  });

  it('encodes registration packets and bare packets', () => {
    expect([...encodePacket({ type: PacketType.EVENT_REGISTER, name: 'log' })]).toEqual([0, 0, 0, 5, 3, 3, ...ascii('log')]);
    expect([...encodePacket({ type: PacketType.EVENT_CONFIRM })]).toEqual([0, 0, 0, 1, 5]);
  });

  it('decodes a CMD_RESPONSE and an EVENT', () => {
    const response = decodePacket(Buffer.from([1, 3, 7, ...ascii('success'), 0, 3, ...ascii('yes')]));
    expect(response.type).toBe(PacketType.CMD_RESPONSE);
    expect(toPlain((response as { message: ViciSection }).message)).toEqual({ success: 'yes' });
    const event = decodePacket(Buffer.from([7, 3, ...ascii('log'), ...README_EXAMPLE]));
    expect(event).toMatchObject({ type: PacketType.EVENT, name: 'log' });
  });

  it.each([
    ['empty frame', Buffer.alloc(0)],
    ['unknown packet type', Buffer.from([8])],
    ['event without name', Buffer.from([7])],
    ['truncated name', Buffer.from([0, 5, 97])],
    ['confirm with trailing bytes', Buffer.from([5, 0])],
    ['bad message in response', Buffer.from([1, 9])],
  ])('rejects a malformed packet: %s', (_name, bytes) => {
    expect(() => decodePacket(bytes)).toThrow(ViciProtocolError);
  });

  it('refuses to encode a frame over 512 KiB', () => {
    expect(() => encodeFrame(Buffer.alloc(MAX_FRAME_BYTES + 1))).toThrow(ViciEncodeError);
    expect(encodeFrame(Buffer.alloc(MAX_FRAME_BYTES)).length).toBe(MAX_FRAME_BYTES + 4);
  });

  it('rejects an oversize frame header as soon as the header is in', () => {
    const reader = new FrameReader();
    expect(() => reader.push(Buffer.from([0, 8, 0, 1]))).toThrow(ViciProtocolError);
  });

  it('reassembles frames split at every byte boundary', () => {
    const frames = [encodePacket({ type: PacketType.EVENT_CONFIRM }), encodePacket({ type: PacketType.CMD_RESPONSE, message: readmeMessage() })];
    const stream = Buffer.concat(frames);
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new FrameReader();
      const out = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
      expect(out.map((f) => f.toString('hex'))).toEqual(frames.map((f) => f.subarray(4).toString('hex')));
      expect(reader.inFrame).toBe(false);
    }
  });

  it('reassembles a stream fed one byte at a time and reports a partial frame', () => {
    const stream = Buffer.concat([encodePacket({ type: PacketType.EVENT_CONFIRM }), encodePacket({ type: PacketType.CMD_UNKNOWN })]);
    const reader = new FrameReader();
    const out: Buffer[] = [];
    for (const byte of stream.subarray(0, stream.length - 1)) out.push(...reader.push(Buffer.from([byte])));
    expect(out.length).toBe(1);
    expect(reader.inFrame).toBe(true);
    out.push(...reader.push(stream.subarray(stream.length - 1)));
    expect(out.map((f) => [...f])).toEqual([[5], [2]]);
  });

  it('round-trips every packet type', () => {
    const packets = [
      { type: PacketType.CMD_REQUEST, name: 'load-conn', message: readmeMessage() },
      { type: PacketType.CMD_RESPONSE, message: section([['success', 'yes']]) },
      { type: PacketType.CMD_UNKNOWN },
      { type: PacketType.EVENT_REGISTER, name: 'ike-updown' },
      { type: PacketType.EVENT_UNREGISTER, name: 'ike-updown' },
      { type: PacketType.EVENT_CONFIRM },
      { type: PacketType.EVENT_UNKNOWN },
      { type: PacketType.EVENT, name: 'list-sa', message: readmeMessage() },
    ] as const;
    for (const packet of packets) {
      const frame = encodePacket(packet);
      const decoded = decodePacket(frame.subarray(4));
      expect(encodePacket(decoded).equals(frame)).toBe(true);
    }
  });
});
