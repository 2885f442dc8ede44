// VICI failures fall into kinds the caller treats differently: a command
// charon understood but refused (fix the config), a broken conversation
// (reconnect), and a silent daemon (reconnect, maybe restart charon).

/** charon answered the command with success != yes; errmsg is charon's text. */
export class ViciCommandError extends Error {
  constructor(
    readonly command: string,
    readonly errmsg: string,
  ) {
    super(`vici ${command} failed: ${errmsg || '(no errmsg)'}`);
    this.name = 'ViciCommandError';
  }
}

/** The byte stream or packet sequence broke the protocol; the connection is unusable. */
export class ViciProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ViciProtocolError';
  }
}

/** A message could not be encoded (bad key, oversize value); nothing was sent. */
export class ViciEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ViciEncodeError';
  }
}

/** No frame started within the timeout; the connection is closed because a late answer would be misattributed. */
export class ViciTimeoutError extends Error {
  constructor(readonly command: string, readonly timeoutMs: number) {
    super(`vici ${command}: no answer within ${timeoutMs} ms`);
    this.name = 'ViciTimeoutError';
  }
}

/** The connection closed (or was never open) while a request needed it. */
export class ViciConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ViciConnectionError';
  }
}
