import fs, { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ejs from 'ejs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { encodeHtml, Html } from '../../module/http/common/html-chunks.js';
import { escapeXML, ViewRenderer } from '../../module/http/common/view-cache.js';

const dir = mkdtempSync(join(tmpdir(), 'views-'));
mkdirSync(join(dir, 'partials'));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
file('partials/row.ejs', '<li><%= row.name %><% if (typeof note !== "undefined") { %> (<%= note %>)<% } %></li>');
file('partials/extra.ejs', '<b><%= extra %></b>');
const list = file('list.ejs', '<h1><%= t("title") %></h1><ul><% for (const row of rows) { %><%- include("partials/row", { row }) %><% } %></ul><%= missing ?? "" %>');
const withExtra = file('extra.ejs', '<p><%= title %></p><%- include("partials/extra", { extra: title + "!" }) %>');
const declares = file('declares.ejs', '<% let title = "own"; %><i><%= title %></i>');
const unknown = file('unknown.ejs', '<%= nowhere %>');

const classic = (f: string, data: Record<string, unknown>) => ejs.render(ejs.fileLoader(f).toString(), data, { filename: f });

describe('the view renderer gives exactly what classic EJS gives', () => {
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('renders with plain locals (no fallback), escaping, includes and data-key changes', () => {
    const views = new ViewRenderer();
    const spy = vi.spyOn(ejs, 'render');
    const data = { t: (k: string) => `T(${k})`, rows: [{ name: '<x>' }, { name: '"q"' }], missing: null };
    const expected = classic(list, data);
    spy.mockClear();
    expect(views.render(list, data)).toBe(expected);
    expect(views.render(list, data)).toBe(expected);
    // A different set of keys gets its own compiled variant.
    const more = { ...data, note: 'n&n' };
    const expectedMore = classic(list, more);
    spy.mockClear();
    expect(views.render(list, more)).toBe(expectedMore);
    expect(expectedMore).toContain('(n&amp;n)');
    expect(spy).not.toHaveBeenCalled();
  });

  it('gives an include\'s own variables to the partial as locals too', () => {
    const views = new ViewRenderer();
    const data = { title: '<T>' };
    const expected = classic(withExtra, data);
    expect(expected).toBe('<p>&lt;T&gt;</p><b>&lt;T&gt;!</b>');
    const spy = vi.spyOn(ejs, 'render');
    expect(views.render(withExtra, data)).toBe(expected);
    expect(views.render(withExtra, { title: 'again' })).toBe('<p>again</p><b>again!</b>');
    expect(spy).not.toHaveBeenCalled();
  });

  it('falls back to classic rendering, and stays there, for a view declaring a name its data also has', () => {
    const views = new ViewRenderer();
    const spy = vi.spyOn(ejs, 'render');
    expect(views.render(declares, { title: 'data' })).toBe('<i>own</i>');
    expect(views.render(declares, { title: 'data' })).toBe('<i>own</i>');
    expect(spy).toHaveBeenCalledTimes(2);
    expect(classic(declares, { title: 'data' })).toBe('<i>own</i>');
  });

  it('still fails, as classic EJS does, on a variable nobody provides', () => {
    expect(() => classic(unknown, {})).toThrow(ReferenceError);
    expect(() => new ViewRenderer().render(unknown, {})).toThrow(ReferenceError);
  });
});

describe('root-based includes', () => {
  afterEach(() => vi.restoreAllMocks());

  it('render as relative ones do, without looking on disk for the partial on every render', () => {
    const root = mkdtempSync(join(tmpdir(), 'views-root-'));
    mkdirSync(join(root, 'pages'));
    mkdirSync(join(root, 'partials'));
    writeFileSync(join(root, 'partials/row.ejs'), '<li><%= row.name %></li>');
    const rooted = join(root, 'pages/rooted.ejs');
    writeFileSync(rooted, '<ul><% for (const row of rows) { %><%- include("/partials/row", { row }) %><% } %></ul>');
    const data = { rows: [{ name: '<x>' }, { name: 'y' }] };
    const expected = ejs.render(ejs.fileLoader(rooted).toString(), data, { filename: rooted, root });
    expect(expected).toBe('<ul><li>&lt;x&gt;</li><li>y</li></ul>');
    const views = new ViewRenderer(root);
    expect(views.render(rooted, data)).toBe(expected);
    const exists = vi.spyOn(fs, 'existsSync');
    expect(views.render(rooted, data)).toBe(expected);
    expect(exists).not.toHaveBeenCalled();
    rmSync(root, { recursive: true, force: true });
  });
});

describe('the view renderer\'s escaping', () => {
  it('escapes exactly as EJS does, skipping only values with nothing to escape', () => {
    const values = ['', 'plain text', '<script>alert("x")</script>', `it's & "that"`, 0, 12.5, true, null, undefined, { toString: () => '<o>' }, ['a', '<b>'], '한국어 — 日本語'];
    for (const v of values) expect(escapeXML(v)).toBe(ejs.escapeXML(v as string));
  });
});

describe('rendering in pieces', () => {
  const root = mkdtempSync(join(tmpdir(), 'views-chunks-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'rows.ejs'), '<table><% for (const r of rows) { %><tr><td><%= r %></td></tr><% } %></table>');
  writeFileSync(join(root, 'layout.ejs'), '<main><%- body %></main><footer><%= title %></footer>');
  const rows = Array.from({ length: 2000 }, (_, i) => `Snapshot ${i} — <before>`);

  it('renders a long view to what EJS gives', () => {
    const file = join(root, 'rows.ejs');
    const html = new ViewRenderer(root).renderHtml(file, { rows });
    expect(html.toString()).toBe(classic(file, { rows }));
  });

  it('splices a rendered view output raw into another as its pieces, not as one string', () => {
    const views = new ViewRenderer(root);
    const body = views.renderHtml(join(root, 'rows.ejs'), { rows });
    const page = views.renderHtml(join(root, 'layout.ejs'), { body, title: 'a & b' });
    expect(page.toString()).toBe(classic(join(root, 'layout.ejs'), { body: body.toString(), title: 'a & b' }));
    // The body's pieces are in the page as they are, never copied into a larger string.
    expect(page.chunks).toEqual(expect.arrayContaining(body.chunks as string[]));
    expect(page.chunks.length).toBeGreaterThan(body.chunks.length);
  });

  it('encodes the pieces as the whole text would be encoded', () => {
    const html = new Html(['<p>한국어 — ', '', '日本語</p>', 'x'.repeat(10_000)]);
    expect(encodeHtml(html).equals(Buffer.from(html.toString()))).toBe(true);
    expect(encodeHtml('<p>— é</p>').equals(Buffer.from('<p>— é</p>'))).toBe(true);
  });
});
