import { describe, expect, it } from 'vitest';
import { BirdProtocolError, ReplyParser, groupBy, isErrorCode, linesOf, parseReplies } from '../../../appliance/subsystems/bgp/reply-codes.js';

describe('BIRD reply framing', () => {
  it('reads the greeting as a one-line reply', () => {
    const [hello] = parseReplies('0001 BIRD 2.0.12 ready.\n');
    expect(hello).toEqual({ code: 1, lines: [{ code: 1, text: 'BIRD 2.0.12 ready.' }] });
  });

  it('ends a reply at the first code followed by a space; continuations keep the previous code', () => {
    const replies = parseReplies('1007-2 of 2 routes for 2 networks in table master4\n 0 of 0 routes for 0 networks in table master6\n0014 Total: 2 of 2 routes for 2 networks in 2 tables\n');
    expect(replies).toHaveLength(1);
    expect(replies[0].code).toBe(14);
    expect(linesOf(replies[0], 1007)).toEqual([
      '2 of 2 routes for 2 networks in table master4',
      '0 of 0 routes for 0 networks in table master6',
    ]);
  });

  it('joins chunks split anywhere, even inside a code', () => {
    const parser = new ReplyParser();
    expect(parser.push('0002-Reading configuration from /x\n00')).toEqual([]);
    const [reply] = parser.push('03 Reconfigured\n');
    expect(reply.code).toBe(3);
    expect(reply.lines.map((l) => l.text)).toEqual(['Reading configuration from /x', 'Reconfigured']);
  });

  it('returns several replies from one chunk in order', () => {
    const replies = new ReplyParser().push('0018 Reconfiguration confirmed\n0019 Nothing to do\n');
    expect(replies.map((r) => r.code)).toEqual([18, 19]);
  });

  it('marks 8xxx and 9xxx as errors', () => {
    const [reply] = parseReplies('0002-Reading configuration from /tmp/bad.conf\n8002 /tmp/bad.conf:2:10 syntax error, unexpected CF_SYM_UNDEFINED\n');
    expect(reply.code).toBe(8002);
    expect(isErrorCode(reply.code)).toBe(true);
    expect(isErrorCode(parseReplies('9001 syntax error\n')[0].code)).toBe(true);
    expect(isErrorCode(parseReplies('0000 \n')[0].code)).toBe(false);
  });

  it('ignores asynchronous "+" lines', () => {
    const replies = parseReplies('+0000 log line\n0000 \n');
    expect(replies).toEqual([{ code: 0, lines: [{ code: 0, text: '' }] }]);
  });

  it('rejects a line that is neither coded nor a continuation', () => {
    expect(() => parseReplies('garbage\n')).toThrow(BirdProtocolError);
    expect(() => parseReplies(' continuation without a code\n')).toThrow(BirdProtocolError);
  });

  it('groups protocol rows with their details', () => {
    const [reply] = parseReplies('2002-Name Proto\n1002-a BGP\n1006-  x: 1\n y: 2\n1002-b BGP\n1006-\n0000 \n');
    const groups = groupBy(reply, 1002);
    expect(groups.map((g) => g.map((l) => `${l.code}:${l.text}`))).toEqual([
      ['1002:a BGP', '1006:  x: 1', '1006:y: 2'],
      ['1002:b BGP', '1006:', '0:'],
    ]);
  });
});
