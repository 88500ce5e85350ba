import { createHash } from 'node:crypto';

/**
 * An entity tag for an answer made from data with a database fingerprint (tables-fingerprint.ts)
 * and from the request's `parts` (who asks, the service as the panel sees it, the query): equal
 * tags, equal answers. Weak: the same data always gives the same JSON, but no byte-for-byte promise
 * is made across versions of the module.
 */
export function fingerprintEtag(fingerprint: string, parts: readonly unknown[]): string {
  return `W/"${createHash('sha256').update(JSON.stringify([fingerprint, ...parts])).digest('base64url').slice(0, 32)}"`;
}
