// A bird control socket for unit tests: records every command and answers
// with BIRD reply text (from a function or a fixed table), raising
// BirdReplyError for error codes just as the real socket client does.
import type { BirdControl } from '../../appliance/subsystems/bgp/bird-socket.js';
import { BirdReplyError, parseReplies, type BirdReply } from '../../appliance/subsystems/bgp/reply-codes.js';

export type BirdAnswers = ((command: string) => string) | Record<string, string>;

export class FakeBird implements BirdControl {
  readonly sent: string[] = [];

  /** Default: every command answers "Reconfigured". A table throws for commands it does not hold; tests may swap `answers`. */
  constructor(public answers: BirdAnswers = () => '0002-Reading configuration\n0003 Reconfigured\n') {}

  async command(command: string): Promise<BirdReply> {
    this.sent.push(command);
    const text = typeof this.answers === 'function' ? this.answers(command) : this.answers[command];
    if (text === undefined) throw new Error(`unexpected bird command: ${command}`);
    const [reply] = parseReplies(text);
    if (reply.code >= 8000) throw new BirdReplyError(command, reply.code, reply);
    return reply;
  }
}

/** bird's `show protocols` answer for the protocols a bird.conf defines (all up): what a bird running that file says. */
export function showProtocolsFor(birdConf: string): string {
  const rows = [...birdConf.matchAll(/^protocol (\S+) '([^']+)'/gm)].map(([, proto, name]) => `${name} ${proto === 'bgp' ? 'BGP' : proto} --- up 2026-11-21 23:51:04  `);
  if (!rows.length) return '0000 \n';
  return `2002-Name       Proto      Table      State  Since         Info\n${rows.map((row, i) => (i === 0 ? `1002-${row}` : ` ${row}`)).join('\n')}\n0000 \n`;
}
