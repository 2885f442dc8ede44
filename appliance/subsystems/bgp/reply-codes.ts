// BIRD's control-socket reply framing (doc/reply_codes in the BIRD source).
// Every line starts with a 4-digit code and then "-" (more lines follow) or
// " " (last line of the reply). A line starting with a space continues the
// previous code. 0xxx: OK, 1xxx: table rows, 2xxx: table headers,
// 8xxx: run-time errors, 9xxx: parse errors. Lines starting with "+" are
// asynchronous messages and belong to no reply.

export interface ReplyLine {
  code: number;
  text: string;
}

/** One reply: its lines in order, continuations carrying the code they continue. */
export interface BirdReply {
  lines: ReplyLine[];
  /** code of the final line (the one followed by a space) */
  code: number;
}

export const ReplyCode = {
  ok: 0,
  welcome: 1,
  readingConfig: 2,
  reconfigured: 3,
  reconfigInProgress: 4,
  reconfigQueued: 5,
  reconfigIgnoredShutdown: 6,
  disabled: 9,
  enabled: 11,
  restarted: 12,
  statusReport: 13,
  routeCount: 14,
  reloading: 15,
  accessRestricted: 16,
  reconfigConfirmed: 18,
  nothingToDo: 19,
  configOk: 20,
  undoRequested: 21,
  undoScheduled: 22,
  protocolList: 1002,
  protocolDetails: 1006,
  routeList: 1007,
  bfdSessions: 1020,
  tableHeader: 2002,
  configError: 8002,
  noProtocolsMatch: 8003,
  parseError: 9001,
} as const;

export const isErrorCode = (code: number) => code >= 8000;

/** A reply whose final code is 8xxx/9xxx. The text is BIRD's own message. */
export class BirdReplyError extends Error {
  constructor(
    readonly command: string,
    readonly code: number,
    readonly reply: BirdReply,
  ) {
    const last = reply.lines[reply.lines.length - 1];
    super(`bird: "${command}" failed with ${String(code).padStart(4, '0')}: ${last?.text ?? ''}`);
    this.name = 'BirdReplyError';
  }
}

export class BirdProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BirdProtocolError';
  }
}

/**
 * Incremental parser: feed raw text as it arrives, get complete replies.
 * Kept free of I/O so the framing can be tested with literals.
 */
export class ReplyParser {
  private pending = '';
  private lines: ReplyLine[] = [];
  private lastCode: number | undefined;

  /** Returns the replies completed by this chunk, in order. */
  push(chunk: string): BirdReply[] {
    this.pending += chunk;
    const done: BirdReply[] = [];
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, newline).replace(/\r$/, '');
      this.pending = this.pending.slice(newline + 1);
      const reply = this.line(line);
      if (reply) done.push(reply);
    }
    return done;
  }

  private line(line: string): BirdReply | undefined {
    if (line.startsWith('+')) return undefined; // asynchronous message
    const m = /^(\d{4})([- ])(.*)$/.exec(line);
    if (m) {
      const code = Number(m[1]);
      this.lines.push({ code, text: m[3] });
      this.lastCode = code;
      if (m[2] === ' ') {
        const reply = { lines: this.lines, code };
        this.lines = [];
        this.lastCode = undefined;
        return reply;
      }
      return undefined;
    }
    if (line.startsWith(' ') && this.lastCode !== undefined) {
      this.lines.push({ code: this.lastCode, text: line.slice(1) });
      return undefined;
    }
    throw new BirdProtocolError(`unexpected line from bird: ${JSON.stringify(line.slice(0, 200))}`);
  }
}

/** Parses a whole captured transcript (tests, fixtures). */
export function parseReplies(text: string): BirdReply[] {
  const parser = new ReplyParser();
  return parser.push(text.endsWith('\n') ? text : `${text}\n`);
}

/** The rows of one code, in order. */
export const linesOf = (reply: BirdReply, code: number) => reply.lines.filter((l) => l.code === code).map((l) => l.text);

/**
 * Splits a reply into blocks, each starting at a line with `code` after a
 * different one (a new 1002 row after its 1006 details starts a new block).
 */
export function groupBy(reply: BirdReply, startCode: number): ReplyLine[][] {
  const groups: ReplyLine[][] = [];
  let previous: number | undefined;
  for (const line of reply.lines) {
    if (line.code === startCode && (previous !== startCode || groups.length === 0)) groups.push([]);
    if (groups.length) groups[groups.length - 1].push(line);
    previous = line.code;
  }
  return groups;
}
