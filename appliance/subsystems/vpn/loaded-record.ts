// What Junction loaded into its charon, by digest, kept on disk beside
// charon's files so the next Junction that adopts this charon knows it too.
// list-conns does not show every key (proposals, reqid, ...) and a secret
// cannot be read back, so without this record an adopted charon could not
// be confirmed to run the current revision. The record names the charon
// pid it describes: a charon started since (a crash, a replacement) holds
// nothing, and its record is void. Only digests are kept (file mode 0600,
// in the state directory that holds the configuration itself).
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

export interface LoadedDigests {
  conns: Map<string, string>;
  secrets: Map<string, string>;
  keys: Map<string, { hash: string; id: string }>;
}

export const emptyLoaded = (): LoadedDigests => ({ conns: new Map(), secrets: new Map(), keys: new Map() });

/** Writes the record (charon's directory must exist: charon-process.ts makes it). */
export function saveLoaded(file: string, pid: number, loaded: LoadedDigests): void {
  const record = { pid, conns: [...loaded.conns], secrets: [...loaded.secrets], keys: [...loaded.keys] };
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/** The record for charon `pid`, or undefined (none, unreadable, or another charon's). */
export function restoreLoaded(file: string, pid: number): LoadedDigests | undefined {
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; conns: Array<[string, string]>; secrets: Array<[string, string]>; keys: Array<[string, { hash: string; id: string }]> };
    if (record.pid !== pid) return undefined;
    return { conns: new Map(record.conns), secrets: new Map(record.secrets), keys: new Map(record.keys) };
  } catch {
    return undefined;
  }
}

export function forgetLoaded(file: string): void {
  rmSync(file, { force: true });
}
