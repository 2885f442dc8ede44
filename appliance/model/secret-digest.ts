// Plan and drift lines must show that a secret (PSK, BGP password, private
// key) changed without showing it. A keyed digest does that: the key is
// random and lives only in this process, so two describes made by the same
// process (a plan compares the running and the new artifact, both rendered
// here) agree exactly when the secrets agree, while a digest copied out of
// a plan or a log gives an offline guess nothing to test against. The
// digests of one secret differ between processes; nothing stores them.
import { createHmac, randomBytes } from 'node:crypto';

const DIGEST_KEY = randomBytes(32);

/** A short keyed digest of a secret: equal within this process exactly when the secrets are equal (up to 2^-64). */
export function secretDigest(secret: string | Buffer): string {
  return createHmac('sha256', DIGEST_KEY).update(secret).digest('hex').slice(0, 16);
}

/** How a plan line names a secret: plainly a secret, never its value. */
export const secretLabel = (secret: string | Buffer): string => `<secret, keyed digest ${secretDigest(secret)}>`;
