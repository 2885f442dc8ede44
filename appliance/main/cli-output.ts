// How the CLI writes what the server sent: server-provided strings (revision
// comments, rule ids, notes) may hold control characters, and printed raw
// they could forge lines or drive the terminal. And `junction ... | head`
// closes the pipe early, which is not an error.

// C0 controls, DEL and C1 controls (0x9b is a one-byte CSI for some
// terminals), the Unicode line/paragraph separators and bidi overrides.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** what JSON.stringify leaves raw inside strings (it escapes C0 itself; C0 outside strings is its own layout) */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A server-provided string as one visible line: every unsafe character becomes an escape. */
export function visible(text: unknown): string {
  return String(text).replace(/\\/g, '\\\\').replace(UNSAFE, (c) => NAMED[c] ?? `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/** JSON for the terminal: JSON.stringify escapes C0 already; this escapes the rest, and stays valid JSON. */
export function safeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A reader that stops reading (`| head`) ends our output; exit quietly instead of crashing on EPIPE. */
export function exitQuietlyOnBrokenPipe(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}
