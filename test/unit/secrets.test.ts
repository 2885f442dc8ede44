// Secrets are write-only: masked on the way out (API answers and log lines),
// and a mask sent back keeps the stored value.
import { describe, expect, it } from 'vitest';
import { REDACTED, SECRET_KEYS, redactSecrets, restoreSecrets } from '../../appliance/model/secrets.js';
import { createLogger } from '../../appliance/platform/log.js';
import { memoryLogger } from '../support/memory-logger.js';

const PSK = 'correct horse battery staple';
const BGP_PASSWORD = 's3cr3t-md5';

/** A document shaped like what the VPN and BGP parts will add. */
function documentWithSecrets() {
  return {
    interfaces: [{ name: 'vpc0', role: 'vpc', zone: 'vpc-a' }],
    vpn: {
      peers: [
        { name: 'onprem-a', address: '198.51.100.1', psk: PSK },
        { name: 'onprem-b', address: '198.51.100.2', psk: 'another-psk', certificate: { private_key: '-----BEGIN PRIVATE KEY-----\nMIIE' } },
      ],
    },
    bgp: { neighbors: [{ id: 'dx1', address: '169.254.10.2', password: BGP_PASSWORD, secret: 'x', asn: 65000 }] },
  };
}

describe('redactSecrets', () => {
  it('masks every secret key at any depth and leaves the rest alone', () => {
    const doc = documentWithSecrets();
    const masked = redactSecrets(doc);
    expect(JSON.stringify(masked)).not.toContain(PSK);
    expect(JSON.stringify(masked)).not.toContain(BGP_PASSWORD);
    expect(JSON.stringify(masked)).not.toContain('BEGIN PRIVATE KEY');
    expect(masked.vpn.peers[0]).toEqual({ name: 'onprem-a', address: '198.51.100.1', psk: REDACTED });
    expect(masked.vpn.peers[1].certificate?.private_key).toBe(REDACTED);
    expect(masked.bgp.neighbors[0]).toEqual({ id: 'dx1', address: '169.254.10.2', password: REDACTED, secret: REDACTED, asn: 65000 });
    expect(masked.interfaces).toEqual(doc.interfaces);
  });

  it('does not change its input', () => {
    const doc = documentWithSecrets();
    redactSecrets(doc);
    expect(doc.vpn.peers[0].psk).toBe(PSK);
  });

  it('covers the documented keys', () => {
    expect([...SECRET_KEYS].sort()).toEqual(['password', 'private_key', 'psk', 'secret']);
  });

  it('passes scalars and arrays of scalars through', () => {
    expect(redactSecrets('psk')).toBe('psk');
    expect(redactSecrets([1, 'password', null])).toEqual([1, 'password', null]);
    expect(redactSecrets(null)).toBeNull();
  });
});

describe('restoreSecrets', () => {
  it('a masked document sent back gets the stored secrets', () => {
    const stored = documentWithSecrets();
    const { value, unresolved } = restoreSecrets(redactSecrets(stored), stored);
    expect(unresolved).toEqual([]);
    expect(value).toEqual(stored);
  });

  it('matches list items by name or id, so reordering keeps each secret with its item', () => {
    const stored = documentWithSecrets();
    const edited = redactSecrets(stored);
    edited.vpn.peers.reverse();
    const { value, unresolved } = restoreSecrets(edited, stored) as { value: ReturnType<typeof documentWithSecrets>; unresolved: string[] };
    expect(unresolved).toEqual([]);
    expect(value.vpn.peers.map((p) => [p.name, p.psk])).toEqual([['onprem-b', 'another-psk'], ['onprem-a', PSK]]);
  });

  it('a new value replaces the stored one', () => {
    const stored = documentWithSecrets();
    const edited = redactSecrets(stored);
    edited.vpn.peers[0].psk = 'rotated';
    const { value } = restoreSecrets(edited, stored) as { value: ReturnType<typeof documentWithSecrets> };
    expect(value.vpn.peers[0].psk).toBe('rotated');
    expect(value.vpn.peers[1].psk).toBe('another-psk');
  });

  it('reports masks with nothing to restore from, by path', () => {
    const stored = documentWithSecrets();
    const edited = redactSecrets(stored);
    edited.vpn.peers.push({ name: 'onprem-c', address: '198.51.100.3', psk: REDACTED });
    edited.bgp.neighbors[0].id = 'dx2'; // a different object: its mask cannot borrow dx1's secret
    const { unresolved } = restoreSecrets(edited, stored);
    expect(unresolved.sort()).toEqual(['/bgp/neighbors/0/password', '/bgp/neighbors/0/secret', '/vpn/peers/2/psk']);
  });

  it('a mask against no previous document is unresolved', () => {
    expect(restoreSecrets({ a: { password: REDACTED } }, undefined).unresolved).toEqual(['/a/password']);
    expect(restoreSecrets({ a: { password: REDACTED } }, { a: { password: 42 } }).unresolved).toEqual(['/a/password']);
  });

  it('the literal mask under a key that is not secret is kept as it is', () => {
    const { value, unresolved } = restoreSecrets({ description: REDACTED }, { description: 'x' });
    expect(unresolved).toEqual([]);
    expect(value).toEqual({ description: REDACTED });
  });
});

describe('logs never carry secrets', () => {
  it('memoryLogger masks secrets in fields, nested or not, at every level', () => {
    const log = memoryLogger();
    log.debug('peer up', { psk: PSK });
    log.info('committed', { peer: { name: 'onprem-a', psk: PSK }, neighbors: [{ password: BGP_PASSWORD }] });
    log.warn('drift', { private_key: 'KEYDATA', secret: 'hush' });
    log.error('failed', { document: documentWithSecrets() });
    expect(log.lines).toHaveLength(4);
    for (const line of log.lines) {
      expect(line).not.toContain(PSK);
      expect(line).not.toContain(BGP_PASSWORD);
      expect(line).not.toContain('KEYDATA');
      expect(line).not.toContain('hush');
      expect(line).not.toContain('BEGIN PRIVATE KEY');
    }
    const second = JSON.parse(log.lines[1]);
    expect(second).toMatchObject({ level: 'info', component: 'test', message: 'committed', peer: { name: 'onprem-a', psk: REDACTED } });
  });

  it('createLogger masks the same way', () => {
    const lines: string[] = [];
    createLogger('api', 'info', (l) => lines.push(l)).info('x', { password: PSK });
    expect(JSON.parse(lines[0])).toMatchObject({ component: 'api', message: 'x', password: REDACTED });
  });

  it('respects the level', () => {
    const lines: string[] = [];
    const log = createLogger('api', 'warn', (l) => lines.push(l));
    log.info('quiet', { psk: PSK });
    log.error('loud');
    expect(lines.map((l) => JSON.parse(l).message)).toEqual(['loud']);
  });
});
