import { escapeXML } from './view-cache.js';
import { Html } from './html-chunks.js';

/**
 * Where a reusable body has its CSRF token: rendered in its place, then cut out, so each response
 * gets its own token. Control characters: nothing a view outputs contains them, and escaping leaves
 * them as they are.
 */
export const TOKEN_SLOT = '\u0001csrf-token\u0001';

/** A body kept for reuse, with whatever else its page was made of (`T`). */
export interface CachedPage<T> {
  readonly value: T;
  /** The body with `token` (HTML-escaped) in every place the view put its CSRF token. */
  body(token: string): Html;
}

interface Entry<T> extends CachedPage<T> {
  fingerprint: string;
  bytes: number;
}

/**
 * Page bodies kept between requests, each under the fingerprint of the data it was rendered from
 * (tables-fingerprint.ts): a request whose key (who asks, in which language and zone, which page) and
 * fingerprint both match is answered from here, without reading the rows, presenting or rendering
 * them. Kept as UTF-8 pieces around the CSRF token, so a reused body costs a copy, not an encoding.
 * Least recently used bodies leave first once `maxBytes` is reached; 0 keeps none.
 */
export class PageCache {
  private readonly entries = new Map<string, Entry<unknown>>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Whether anything is ever kept (a page need not make a fingerprint otherwise). */
  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  /** The body kept under `key` if it was rendered from data with this `fingerprint`. */
  get<T>(key: string, fingerprint: string): CachedPage<T> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.fingerprint !== fingerprint) {
      this.bytes -= entry.bytes;
      return undefined;
    }
    this.entries.set(key, entry);
    return entry as Entry<T>;
  }

  /**
   * Keeps `body` (rendered with TOKEN_SLOT as its CSRF token) under `key` and `fingerprint`, and
   * answers it ready to be given a token, whether or not it fitted.
   */
  set<T>(key: string, fingerprint: string, body: Html, value: T): CachedPage<T> {
    const entry = cut(fingerprint, body, value);
    this.keep(key, entry);
    return entry;
  }

  private keep(key: string, entry: Entry<unknown>): void {
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.bytes;
    }
    if (entry.bytes > this.maxBytes) return;
    this.entries.set(key, entry);
    this.bytes += entry.bytes;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= e.bytes;
    }
  }

  /** How many bodies and bytes are kept (tests, health). */
  held(): { pages: number; bytes: number } {
    return { pages: this.entries.size, bytes: this.bytes };
  }
}

function cut<T>(fingerprint: string, body: Html, value: T): Entry<T> {
  // One allocation for the whole body, the pieces views into it: small buffers of their own would
  // each come from Node's shared 8 kB pool and keep a whole slab alive.
  const whole = Buffer.from(body.toString());
  const slot = Buffer.from(TOKEN_SLOT);
  // The body's pieces, with null where a token goes.
  const pieces: (Buffer | null)[] = [];
  let from = 0;
  for (let at = whole.indexOf(slot); at !== -1; at = whole.indexOf(slot, from)) {
    if (at > from) pieces.push(whole.subarray(from, at));
    pieces.push(null);
    from = at + slot.length;
  }
  if (from < whole.length) pieces.push(whole.subarray(from));
  return {
    fingerprint, bytes: whole.length, value,
    body(token) {
      const escaped = Buffer.from(escapeXML(token));
      return new Html(pieces.map((p) => p ?? escaped));
    },
  };
}
