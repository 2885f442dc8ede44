import { afterEach, describe, expect, it, vi } from 'vitest';
import { section, toPlain } from '../../../appliance/subsystems/vpn/vici/codec.js';
import { ViciClient } from '../../../appliance/subsystems/vpn/vici/client.js';
import { ViciCommandError, ViciConnectionError, ViciProtocolError, ViciTimeoutError } from '../../../appliance/subsystems/vpn/vici/errors.js';
import { encodePacket, PacketType, type ViciPacket } from '../../../appliance/subsystems/vpn/vici/framing.js';
import { ViciSession } from '../../../appliance/subsystems/vpn/vici/session.js';
import { FakeViciTransport } from '../../support/fake-vici-transport.js';

const response = (entries: Array<[string, string]>): ViciPacket => ({ type: PacketType.CMD_RESPONSE, message: section(entries) });
const event = (name: string, entries: Array<[string, string]>): ViciPacket => ({ type: PacketType.EVENT, name, message: section(entries) });
const confirm: ViciPacket = { type: PacketType.EVENT_CONFIRM };

async function openSession(respond: FakeViciTransport['respond'], options = {}): Promise<{ fake: FakeViciTransport; session: ViciSession }> {
  const fake = new FakeViciTransport();
  fake.respond = respond;
  const session = new ViciSession(fake, options);
  await session.connect();
  return { fake, session };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ViciSession commands', () => {
  it('sends a command and returns its response', async () => {
    const { fake, session } = await openSession((p, f) => {
      if (p.type === PacketType.CMD_REQUEST) f.reply(response([['daemon', 'charon'], ['version', '5.9.8']]));
    });
    expect(toPlain(await session.request('version'))).toEqual({ daemon: 'charon', version: '5.9.8' });
    expect(fake.transcript()).toEqual(['CMD_REQUEST version']);
  });

  it('runs queued commands one at a time, in order', async () => {
    const { fake, session } = await openSession((p, f) => {
      if (p.type === PacketType.CMD_REQUEST) f.reply(response([['echo', p.name]]));
    });
    const answers = await Promise.all(['a', 'b', 'c'].map((name) => session.request(name)));
    expect(answers.map((a) => toPlain(a).echo)).toEqual(['a', 'b', 'c']);
    expect(fake.transcript()).toEqual(['CMD_REQUEST a', 'CMD_REQUEST b', 'CMD_REQUEST c']);
  });

  it('never has two commands in flight', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const { session } = await openSession((p, f) => {
      if (p.type !== PacketType.CMD_REQUEST) return;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        f.reply(response([]));
      }, 2);
    });
    await Promise.all([session.request('a'), session.request('b'), session.request('c')]);
    expect(maxInFlight).toBe(1);
  });

  it('dispatches events that interleave with a command to listeners', async () => {
    const { session } = await openSession((p, f) => {
      if (p.type === PacketType.EVENT_REGISTER) f.reply(confirm);
      if (p.type === PacketType.CMD_REQUEST) f.reply(event('ike-updown', [['up', 'yes']]), response([['success', 'yes']]), event('child-updown', [['up', 'yes']]));
    });
    const seen: string[] = [];
    session.onEvent((name, message) => seen.push(`${name} up=${toPlain(message).up}`));
    await session.registerEvent('ike-updown');
    expect(toPlain(await session.request('initiate'))).toEqual({ success: 'yes' });
    await new Promise((r) => setTimeout(r, 0));
    expect(seen).toEqual(['ike-updown up=yes', 'child-updown up=yes']);
  });

  it('turns success=no into a ViciCommandError carrying errmsg, and stays usable', async () => {
    const { session } = await openSession((p, f) => {
      if (p.type !== PacketType.CMD_REQUEST) return;
      f.reply(p.name === 'initiate' ? response([['success', 'no'], ['errmsg', 'CHILD_SA not established after 1000ms']]) : response([['ok', '1']]));
    });
    const error = await session.request('initiate').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ViciCommandError);
    expect((error as ViciCommandError).errmsg).toBe('CHILD_SA not established after 1000ms');
    expect(toPlain(await session.request('version'))).toEqual({ ok: '1' });
  });

  it('reports CMD_UNKNOWN as a protocol error without breaking the session', async () => {
    const { session } = await openSession((p, f) => {
      if (p.type !== PacketType.CMD_REQUEST) return;
      f.reply(p.name === 'nonsense' ? { type: PacketType.CMD_UNKNOWN } : response([]));
    });
    await expect(session.request('nonsense')).rejects.toBeInstanceOf(ViciProtocolError);
    await expect(session.request('version')).resolves.toBeDefined();
  });

  it('treats an unexpected packet type as a protocol error and closes the session', async () => {
    const { fake, session } = await openSession((p, f) => {
      if (p.type === PacketType.CMD_REQUEST) f.reply(confirm);
    });
    await expect(session.request('version')).rejects.toBeInstanceOf(ViciProtocolError);
    expect(fake.closed).toBe(true);
    await expect(session.request('version')).rejects.toBeInstanceOf(ViciConnectionError);
  });

  it('treats a reply with no command in flight as a protocol error', async () => {
    const { fake, session } = await openSession(() => undefined);
    const closed = new Promise((resolve) => session.onClose(resolve));
    fake.feed(encodePacket(response([])));
    expect(await closed).toBeInstanceOf(ViciProtocolError);
  });

  it('treats a malformed frame as a protocol error', async () => {
    const { session } = await openSession((p, f) => {
      if (p.type === PacketType.CMD_REQUEST) queueMicrotask(() => f.feed(Buffer.from([0, 0, 0, 2, 1, 9])));
    });
    await expect(session.request('version')).rejects.toThrow(/unknown element type 9/);
  });

  it('reassembles a response delivered in pieces, with an event in front', async () => {
    const bytes = Buffer.concat([encodePacket(event('log', [['msg', 'hello']])), encodePacket(response([['daemon', 'charon']]))]);
    const { session } = await openSession((p, f) => {
      if (p.type !== PacketType.CMD_REQUEST) return;
      let at = 0;
      const drip = (): void => {
        f.feed(bytes.subarray(at, at + 3));
        at += 3;
        if (at < bytes.length) setTimeout(drip, 0);
      };
      setTimeout(drip, 0);
    });
    const logs: string[] = [];
    session.onEvent((name) => logs.push(name));
    expect(toPlain(await session.request('version'))).toEqual({ daemon: 'charon' });
    expect(logs).toEqual(['log']);
  });

  it('fails a request when the connection closes', async () => {
    const { fake, session } = await openSession((p, f) => {
      if (p.type === PacketType.CMD_REQUEST) queueMicrotask(() => f.hangUp());
    });
    await expect(session.request('version')).rejects.toBeInstanceOf(ViciConnectionError);
  });
});

describe('ViciSession timeouts', () => {
  it('times out while waiting for the first byte of a frame, and closes the session', async () => {
    vi.useFakeTimers();
    const { fake, session } = await openSession(() => undefined, { timeoutMs: 1000 });
    const pending = session.request('stats').catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1001);
    expect(await pending).toBeInstanceOf(ViciTimeoutError);
    expect(fake.closed).toBe(true);
  });

  it('does not time out in the middle of a frame', async () => {
    vi.useFakeTimers();
    const frame = encodePacket(response([['daemon', 'charon']]));
    const { session } = await openSession((p, f) => {
      if (p.type === PacketType.CMD_REQUEST) queueMicrotask(() => f.feed(frame.subarray(0, 5)));
    }, { timeoutMs: 1000 });
    let settled = false;
    const pending = session.request('version').finally(() => (settled = true));
    await vi.advanceTimersByTimeAsync(5000);
    expect(settled).toBe(false);
    (session as unknown as { transport: FakeViciTransport }).transport.feed(frame.subarray(5));
    expect(toPlain(await pending)).toEqual({ daemon: 'charon' });
  });

  it('restarts the clock after each complete event frame', async () => {
    vi.useFakeTimers();
    const { fake, session } = await openSession(() => undefined, { timeoutMs: 1000 });
    const pending = session.request('initiate');
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(800);
      fake.feed(encodePacket(event('control-log', [['msg', `step ${i}`]])));
    }
    fake.feed(encodePacket(response([['success', 'yes']])));
    await expect(pending).resolves.toBeDefined();
  });

  it('a per-command timeout of 0 waits forever', async () => {
    vi.useFakeTimers();
    const { fake, session } = await openSession(() => undefined, { timeoutMs: 1000 });
    const pending = session.request('initiate', section(), { timeoutMs: 0 });
    await vi.advanceTimersByTimeAsync(60_000);
    fake.feed(encodePacket(response([['success', 'yes']])));
    await expect(pending).resolves.toBeDefined();
  });
});

describe('ViciSession streamed commands', () => {
  function charonWithSas(options: { leftover?: boolean } = {}): FakeViciTransport['respond'] {
    return (p, f) => {
      if (p.type === PacketType.EVENT_REGISTER) f.reply(confirm);
      if (p.type === PacketType.CMD_REQUEST && p.name === 'list-sas') {
        f.reply(
          event('list-sa', [['1', 'first']]),
          event('ike-updown', [['up', 'yes']]),
          event('list-sa', [['2', 'second']]),
          response([]),
        );
      }
      if (p.type === PacketType.EVENT_UNREGISTER) {
        f.reply(...(options.leftover ? [event('list-sa', [['3', 'late']])] : []), confirm);
      }
      if (p.type === PacketType.CMD_REQUEST && p.name === 'version') f.reply(response([['daemon', 'charon']]));
    };
  }

  it('registers, collects events until the response, then unregisters', async () => {
    const { fake, session } = await openSession(charonWithSas());
    const others: string[] = [];
    session.onEvent((name) => others.push(name));
    const { events } = await session.stream('list-sas', 'list-sa');
    expect(events.map((e) => toPlain(e))).toEqual([{ 1: 'first' }, { 2: 'second' }]);
    expect(others).toEqual(['ike-updown']);
    expect(fake.transcript()).toEqual(['EVENT_REGISTER list-sa', 'CMD_REQUEST list-sas', 'EVENT_UNREGISTER list-sa']);
  });

  it('skips leftover stream events that arrive before EVENT_CONFIRM', async () => {
    const { session } = await openSession(charonWithSas({ leftover: true }));
    const others: string[] = [];
    session.onEvent((name) => others.push(name));
    const { events } = await session.stream('list-sas', 'list-sa');
    expect(events.length).toBe(2);
    expect(others).toEqual(['ike-updown']);
    expect(toPlain(await session.request('version'))).toEqual({ daemon: 'charon' });
  });

  it('reports EVENT_UNKNOWN as a protocol error', async () => {
    const { session } = await openSession((p, f) => {
      if (p.type === PacketType.EVENT_REGISTER) f.reply({ type: PacketType.EVENT_UNKNOWN });
    });
    await expect(session.registerEvent('no-such-event')).rejects.toThrow(/EVENT_UNKNOWN/);
  });

  it('the client turns list-sas events into named entries', async () => {
    const fake = new FakeViciTransport();
    fake.respond = (p, f) => {
      if (p.type === PacketType.EVENT_REGISTER || p.type === PacketType.EVENT_UNREGISTER) f.reply(confirm);
      if (p.type === PacketType.CMD_REQUEST && p.name === 'list-sas') {
        f.reply({ type: PacketType.EVENT, name: 'list-sa', message: section([['site-a', section([['state', 'ESTABLISHED']])]]) }, response([]));
      }
    };
    const client = await ViciClient.open(() => fake);
    expect(await client.listSas()).toEqual([{ name: 'site-a', value: { state: 'ESTABLISHED' } }]);
    expect(fake.transcript()).toEqual(['EVENT_REGISTER list-sa', 'CMD_REQUEST list-sas', 'EVENT_UNREGISTER list-sa']);
  });
});

describe('ViciClient messages', () => {
  it('load-shared sends id, type, data and owners in order', async () => {
    const fake = new FakeViciTransport();
    fake.respond = (p, f) => {
      if (p.type === PacketType.CMD_REQUEST) f.reply(response([['success', 'yes']]));
    };
    const client = await ViciClient.open(() => fake);
    await client.loadShared({ id: 'psk-site-a', type: 'IKE', data: 'not-logged', owners: ['a.example', '192.0.2.2'] });
    const request = fake.written[0] as Extract<ViciPacket, { type: 0 }>;
    expect(request.name).toBe('load-shared');
    expect(request.message.keys()).toEqual(['id', 'type', 'data', 'owners']);
    expect(toPlain(request.message).owners).toEqual(['a.example', '192.0.2.2']);
  });

  it('initiate sends the timeout as a decimal string and waits longer than charon', async () => {
    vi.useFakeTimers();
    const fake = new FakeViciTransport();
    const client = await ViciClient.open(() => fake, { timeoutMs: 1000 });
    const pending = client.initiate({ child: 'net', timeoutMs: 3000 });
    await vi.advanceTimersByTimeAsync(3500);
    fake.feed(encodePacket(response([['success', 'yes']])));
    await expect(pending).resolves.toBeUndefined();
    const request = fake.written[0] as Extract<ViciPacket, { type: 0 }>;
    expect(toPlain(request.message)).toEqual({ child: 'net', timeout: '3000' });
  });
});
