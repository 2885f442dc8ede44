// What charon has loaded, by content: a connection as `list-conns` reports
// it and a rendered connection brought to the same normalized form, so
// drift can see a connection changed behind Junction's back (loaded over
// VICI by hand, say) and apply can repair it.
//
// list-conns (strongSwan 5.9) reports addresses, IKE version, rekey and
// reauth times, DPD timers, each auth round's class, identity and
// certificate subjects, and per child the mode, rekey time, DPD and close
// actions and traffic selectors, in its own spelling (IKEv2, TUNNEL, "3600",
// dpd_action restart as "start", selectors without host bits). It does not
// report proposals, start_action, reqid, if_id, encap or mobike: those are
// compared with what Junction itself loaded (the digests in config.ts), not
// with charon. A key the rendering leaves to charon's default is not
// compared.
import { X509Certificate } from 'node:crypto';
import { networkOf } from '../../model/ip.js';
import { ViciSection, type ViciPlain } from './vici/index.js';
import type { VpnConnection } from './render.js';

/** `key -> value` in list-conns' terms; child keys are `child <name>: <key>`. */
export type ConnContent = Map<string, string>;

const seconds = (value: unknown) => String(value).replace(/s$/, '');
const list = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)]);
const selectors = (value: unknown) => list(value).map((ts) => networkOf(ts) ?? ts).join(',');
/** charon prints an identity without the "@" that marks an FQDN (but keeps "@#" key ids). */
const identity = (id: string) => (id.startsWith('@') && !id.startsWith('@#') ? id.slice(1) : id).replace(/\s*,\s*/g, ', ');
/** list-conns names an action by what charon does: restart is "start", clear is "none". */
const ACTION: Record<string, string> = { restart: 'start', start: 'start', clear: 'none', none: 'none', trap: 'trap' };
const AUTH_CLASS: Record<string, string> = { psk: 'pre-shared key', pubkey: 'public key' };

/** A certificate's subject as charon prints it ("C=CH, O=Example, Inc, CN=moon"). */
function subjectOf(pem: string): string {
  try {
    return new X509Certificate(pem).subject.split('\n').map((rdn) => rdn.replaceAll('\\,', ',')).join(', ');
  } catch {
    return `unparseable certificate`;
  }
}

const section = (value: unknown) => (value instanceof ViciSection ? value : undefined);

/** The rendered connection in list-conns' terms, only the keys list-conns reports and the rendering sets. */
export function expectedContent(c: VpnConnection): ConnContent {
  const out: ConnContent = new Map();
  const get = (key: string) => c.config.get(key);
  const put = (key: string, value: string | undefined) => {
    if (value !== undefined) out.set(key, value);
  };
  put('version', get('version') === undefined ? undefined : `IKEv${String(get('version'))}`);
  if (get('local_addrs') !== undefined) put('local_addrs', list(get('local_addrs')).join(','));
  put('remote_addrs', list(get('remote_addrs')).join(','));
  for (const key of ['rekey_time', 'reauth_time', 'dpd_delay', 'dpd_timeout']) if (get(key) !== undefined) put(key, seconds(get(key)));
  for (const round of ['local', 'remote'] as const) {
    const auth = section(get(round));
    if (!auth) continue;
    put(`${round}.class`, AUTH_CLASS[String(auth.get('auth'))] ?? String(auth.get('auth')));
    if (auth.get('id') !== undefined) put(`${round}.id`, identity(String(auth.get('id'))));
    for (const key of ['certs', 'cacerts']) if (auth.get(key) !== undefined) put(`${round}.${key}`, list(auth.get(key)).map(subjectOf).join(' | '));
  }
  for (const [tunnel, value] of section(get('children'))?.entries ?? []) {
    const child = section(value);
    if (!child) continue;
    const at = `child ${tunnel}: `;
    out.set(`${at}present`, 'yes');
    if (child.get('mode') !== undefined) put(`${at}mode`, String(child.get('mode')).toUpperCase());
    if (child.get('rekey_time') !== undefined) put(`${at}rekey_time`, seconds(child.get('rekey_time')));
    for (const key of ['dpd_action', 'close_action']) if (child.get(key) !== undefined) put(`${at}${key}`, ACTION[String(child.get(key))] ?? String(child.get(key)));
    put(`${at}local_ts`, selectors(child.get('local_ts')));
    put(`${at}remote_ts`, selectors(child.get('remote_ts')));
  }
  return out;
}

/** One list-conns entry, normalized; `expected` says which keys to read (what the rendering sets). */
export function loadedContent(entry: ViciPlain, expected: ConnContent): ConnContent {
  const out: ConnContent = new Map();
  const text = (value: unknown) => (value === undefined ? undefined : list(value).join(','));
  const auth = (round: 'local' | 'remote') => Object.entries(entry).find(([key]) => key.startsWith(`${round}-`))?.[1] as ViciPlain | undefined;
  const read: Record<string, () => string | undefined> = {
    version: () => text(entry.version),
    local_addrs: () => text(entry.local_addrs),
    remote_addrs: () => text(entry.remote_addrs),
    rekey_time: () => text(entry.rekey_time),
    reauth_time: () => text(entry.reauth_time),
    dpd_delay: () => text(entry.dpd_delay),
    dpd_timeout: () => text(entry.dpd_timeout),
  };
  for (const round of ['local', 'remote'] as const) {
    read[`${round}.class`] = () => text(auth(round)?.class);
    read[`${round}.id`] = () => text(auth(round)?.id);
    read[`${round}.certs`] = () => list(auth(round)?.certs).join(' | ');
    read[`${round}.cacerts`] = () => list(auth(round)?.cacerts).join(' | ');
  }
  const children = (entry.children as Record<string, ViciPlain> | undefined) ?? {};
  for (const [tunnel, child] of Object.entries(children)) {
    const at = `child ${tunnel}: `;
    out.set(`${at}present`, 'yes');
    read[`${at}mode`] = () => text(child.mode);
    read[`${at}rekey_time`] = () => text(child.rekey_time);
    read[`${at}dpd_action`] = () => text(child.dpd_action);
    read[`${at}close_action`] = () => text(child.close_action);
    read[`${at}local_ts`] = () => selectors(child['local-ts']);
    read[`${at}remote_ts`] = () => selectors(child['remote-ts']);
  }
  for (const key of expected.keys()) {
    if (key.endsWith(': present')) continue;
    const value = read[key]?.();
    if (value !== undefined) out.set(key, value);
  }
  return out;
}

/** The child a key belongs to ("child t1"), if any. */
const childOf = (key: string) => (key.startsWith('child ') ? key.slice(0, key.indexOf(': ')) : undefined);

/** What differs between the rendering and what charon has loaded, one phrase per key. */
export function contentDifferences(expected: ConnContent, loaded: ConnContent): string[] {
  const out: string[] = [];
  for (const [key, want] of expected) {
    const child = childOf(key);
    if (key.endsWith(': present')) {
      if (!loaded.has(key)) out.push(`${child} is not loaded`);
      continue;
    }
    if (child && !loaded.has(`${child}: present`)) continue; // reported once, above
    const have = loaded.get(key);
    // charon leaves out a timer that is off
    if (have === want || (have === undefined && want === '0')) continue;
    out.push(`${key} is ${have ?? '(not set)'}, configured ${want}`);
  }
  for (const key of loaded.keys()) if (key.endsWith(': present') && !expected.has(key)) out.push(`${childOf(key)} is loaded but not configured`);
  return out;
}
