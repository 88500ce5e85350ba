/**
 * Rendered HTML as the pieces it was made of: a view's own output and, spliced in as they are, the
 * views it embeds raw (a layout's body). A layout so never copies its body into a new string. Views
 * used to be cut further into pieces of a fixed size as well; `bench:http` showed no gain from that
 * (docs/design.md, "The fast paths"), so it was dropped. A piece may be already encoded (a body
 * reused from the page cache, page-cache.ts).
 */
export class Html {
  constructor(readonly chunks: readonly (string | Buffer)[]) {}

  /** The whole text, for whoever needs one string (a host panel's layout, tests). */
  toString(): string {
    return this.chunks.map((c) => (typeof c === 'string' ? c : c.toString('utf8'))).join('');
  }
}

/** The page as UTF-8, encoded piece by piece (faster than measuring, then writing, each piece). */
export function encodeHtml(html: string | Html): Buffer {
  if (typeof html === 'string') return Buffer.from(html);
  const buffers = html.chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c));
  return buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers);
}
