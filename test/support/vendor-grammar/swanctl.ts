// Syntax model of the swanctl.conf the remote-config generator writes:
// nested "name {" ... "}" sections and "key = value" settings, each key at
// the section path swanctl.conf(5) documents it (connections.<conn>.local,
// connections.<conn>.children.<child>, secrets.ike<suffix>), with the
// values of the enumerated ones. The lab test loads the same text into a
// real charon; this model runs without one and names the offending line.
import { intIn, Problems, type GrammarProblem } from './common.js';

type Check = (value: string) => string | undefined;
const only = (ok: boolean, message: string) => (ok ? undefined : message);
const oneOf = (...values: string[]): Check => (v) => only(values.includes(v), `is one of ${values.join(', ')}`);
const time: Check = (v) => only(/^\d+[smhd]?$/.test(v), 'is a time');
const any: Check = () => undefined;

/** Section path pattern ("*" = a name) -> its keys. */
const SECTIONS: Array<[RegExp, Record<string, Check>]> = [
  [/^connections$/, {}],
  [/^connections\.[^.]+$/, {
    version: oneOf('0', '1', '2'), local_addrs: any, remote_addrs: any, proposals: any, rekey_time: time, dpd_delay: time, dpd_timeout: time,
    encap: oneOf('yes', 'no'),
  }],
  [/^connections\.[^.]+\.(local|remote)$/, { auth: oneOf('psk', 'pubkey', 'eap'), id: any, certs: any }],
  [/^connections\.[^.]+\.children$/, {}],
  [/^connections\.[^.]+\.children\.[^.]+$/, {
    local_ts: any, remote_ts: any, reqid: (v) => only(intIn(v, 1, 4294967295), 'is a positive integer'), esp_proposals: any, rekey_time: time,
    dpd_action: oneOf('clear', 'trap', 'restart'), start_action: oneOf('none', 'trap', 'start'),
  }],
  [/^secrets$/, {}],
  [/^secrets\.ike[^.]*$/, { 'id-local': any, 'id-remote': any, secret: any }],
];

export function checkSwanctl(text: string): GrammarProblem[] {
  const problems = new Problems();
  const path: string[] = [];
  const keysOf = (p: string) => SECTIONS.find(([pattern]) => pattern.test(p))?.[1];
  text.split('\n').forEach((raw, i) => {
    const n = i + 1;
    const body = raw.trim();
    if (body === '' || body.startsWith('#')) return;
    if (raw.length - raw.trimStart().length !== 2 * path.length - (body === '}' ? 2 : 0)) problems.add(n, raw, 'indentation does not match the nesting');
    const open = /^([A-Za-z0-9_.-]+) \{$/.exec(body);
    if (open) {
      const next = [...path, open[1]!].join('.');
      if (!keysOf(next)) problems.add(n, raw, `no section ${next} in swanctl.conf`);
      path.push(open[1]!);
      return;
    }
    if (body === '}') {
      if (path.pop() === undefined) problems.add(n, raw, 'closes a section that is not open');
      return;
    }
    const setting = /^([a-z_-]+) = (.+)$/.exec(body);
    const keys = keysOf(path.join('.'));
    if (!setting || !keys) { problems.add(n, raw, `not a setting of ${path.join('.') || 'the top level'}`); return; }
    const check = keys[setting[1]!];
    if (!check) problems.add(n, raw, `${path.join('.')}: no key "${setting[1]}"`);
    else { const wrong = check(setting[2]!); if (wrong) problems.add(n, raw, `${path.join('.')}.${setting[1]} ${wrong}`); }
  });
  if (path.length > 0) problems.add(0, '', `section ${path.join('.')} is not closed`);
  return problems.list;
}
