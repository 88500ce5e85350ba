import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The reference a customer carries through the panel's order flow to a new server made from a
 * snapshot: `<id>.<expiry>.<signature>`. The id is random and names a stored handover (which holds
 * the snapshot, its service and owner), so the reference carries no id a customer could swap; the
 * signature lets a tampered or made-up reference be refused before the database is asked; the stored
 * row makes it single-use and its expiry authoritative.
 */
export interface HandoverToken {
  id: string;
  expiresAt: Date;
}

const FORMAT = /^([A-Za-z0-9_-]{22})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

/** Signs and checks references with a key of their own, derived from the module's secret. */
export class HandoverSigner {
  private readonly key: Buffer;

  constructor(secret: string) {
    // A separate key, so a reference's signature can never pass for any other MAC the module makes.
    this.key = Buffer.from(hkdfSync('sha256', secret, 'panel-snapshots', 'server-from-snapshot handover', 32));
  }

  /** A new reference expiring at `expiresAt` (whole seconds). */
  issue(expiresAt: Date): { token: string; handover: HandoverToken } {
    const id = randomBytes(16).toString('base64url');
    const exp = Math.floor(expiresAt.getTime() / 1000);
    return { token: `${id}.${exp}.${this.sign(id, exp)}`, handover: { id, expiresAt: new Date(exp * 1000) } };
  }

  /** The handover a reference names, or null when it is malformed or its signature is wrong. */
  verify(token: unknown): HandoverToken | null {
    if (typeof token !== 'string') return null;
    const m = FORMAT.exec(token.trim());
    if (!m) return null;
    const [, id, expText, sig] = m as unknown as [string, string, string, string];
    const exp = Number(expText);
    const expected = Buffer.from(this.sign(id, exp));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    return { id, expiresAt: new Date(exp * 1000) };
  }

  private sign(id: string, exp: number): string {
    return createHmac('sha256', this.key).update(`${id}.${exp}`).digest('base64url');
  }
}
