/**
 * Pages are rendered and sent as a list of strings of at most about CHUNK characters, never as one.
 * A page whose text has any non-Latin-1 character ('—' in a snapshot's name) is a two-byte string
 * in V8; at 84 kB of text that is a 168 kB string, which V8 allocates in its large-object space
 * (fresh pages, a page fault each), and flattening the render's thousands of pieces into it and
 * encoding it cost three times what encoding the same text in small pieces costs.
 */
export const CHUNK = 8192;

/** Rendered HTML in pieces, each under CHUNK characters plus one output. */
export class Html {
  constructor(readonly chunks: readonly string[]) {}

  /** The whole text, for whoever needs one string (a host panel's layout, tests). */
  toString(): string {
    return this.chunks.join('');
  }
}

/** The page as UTF-8, encoded piece by piece (faster than measuring, then writing, each piece). */
export function encodeHtml(html: string | Html): Buffer {
  if (typeof html === 'string') return Buffer.from(html);
  const buffers = html.chunks.map((c) => Buffer.from(c));
  return buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers);
}
