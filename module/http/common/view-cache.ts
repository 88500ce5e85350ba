import { readFileSync } from 'node:fs';
import ejs from 'ejs';
import { Html } from './html-chunks.js';

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
// How an include reaches back to the renderer: partials get the including view's data plus their own.
const SELF = '__snapshotViews';
const LIMIT = 500;
const NEEDS_ESCAPE = /[&<>'"]/;

/**
 * EJS's own escaping, skipped for the values that have nothing to escape: most of a page's ~1,500
 * outputs (labels, ids, dates, the CSRF token), on which EJS's regex replace still costs a third more.
 */
export function escapeXML(value: unknown): string {
  if (value === undefined || value === null) return '';
  const s = String(value);
  return NEEDS_ESCAPE.test(s) ? ejs.escapeXML(s) : s;
}

/**
 * Renders the module's EJS views faster than `ejs.renderFile`: each view is compiled once per set
 * of data keys with those keys as plain local variables instead of EJS's default `with (locals)`
 * block, which makes every variable lookup in a template a slow dynamic one (a 50-row list spent
 * more time there than in everything else it does). Includes go through the renderer too, with
 * the including view's data plus their own, so their variables are locals as well. A view this mode
 * cannot handle (one that declares a name its data also has) fails with a SyntaxError or
 * ReferenceError before producing anything; that view and key set are then rendered the classic
 * way from then on, so the output never differs.
 */
export class ViewRenderer {
  /**
   * `root`: where includes starting with '/' are found. Relative ones are looked up on disk on every
   * render (EJS checks they exist before asking its includer); root-based ones are not.
   */
  constructor(private readonly root?: string) {}

  /** For the compiled views' `__append`, which reach the renderer through their data only. */
  readonly Html = Html;
  private readonly compiled = new Map<string, ejs.TemplateFunction>();
  private readonly classic = new Set<string>();
  private readonly sources = new Map<string, string>();

  render(file: string, data: Record<string, unknown>): string {
    return this.renderHtml(file, data).toString();
  }

  /**
   * The view as pieces (html-chunks.ts): an `Html` value output raw (`<%- body %>`) joins its
   * pieces as they are, so a layout never makes the page one string.
   */
  renderHtml(file: string, data: Record<string, unknown>): Html {
    const keys = Object.keys(data).filter((k) => IDENTIFIER.test(k) && k !== SELF);
    const id = `${file}\u0000${keys.join(',')}`;
    if (!this.classic.has(id)) {
      try {
        return new Html(this.template(id, file, keys)({ ...data, [SELF]: this }) as unknown as string[]);
      } catch (err) {
        if (!(err instanceof ReferenceError || err instanceof SyntaxError)) throw err;
        this.remember(this.classic, id);
      }
    }
    return new Html([ejs.render(this.source(file), data, { filename: file, cache: true, root: this.root }) as string]);
  }

  private template(id: string, file: string, keys: string[]): ejs.TemplateFunction {
    let fn = this.compiled.get(id);
    if (!fn) {
      const template = new ejs.Template(this.source(file), {
        filename: file, cache: true, root: this.root, _with: false, escape: escapeXML,
        // An include becomes a call back into render() with the data EJS hands it; EJS caches that
        // one-line stand-in under its own name, apart from classic renders of the file.
        includer: (_path: string, resolved: string) => ({
          filename: `${resolved}?via=${SELF}`, template: `<%- locals.${SELF}.render(${JSON.stringify(resolved)}, locals) %>`,
        }),
      } as unknown as ejs.Options) as unknown as EjsTemplate;
      // EJS's own prelude collects the output in one string; given a source, compile() keeps ours.
      template.generateSource();
      template.source = prelude([...keys, SELF]) + template.source + '  __chunks.push(__output);\n  return __chunks;\n';
      fn = template.compile();
      if (this.compiled.size >= LIMIT) this.compiled.clear();
      this.compiled.set(id, fn);
    }
    return fn;
  }

  private source(file: string): string {
    let text = this.sources.get(file);
    if (text === undefined) {
      text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
      this.sources.set(file, text);
    }
    return text;
  }

  private remember(set: Set<string>, id: string): void {
    if (set.size >= LIMIT) set.clear();
    set.add(id);
  }
}

/** The parts of ejs.Template used to give a compiled view its own output handling. */
interface EjsTemplate {
  source: string;
  generateSource(): void;
  compile(): ejs.TemplateFunction;
}

/**
 * What EJS puts before a view's code (its locals as variables, then `__append`), except that an
 * `Html` value is spliced in as its pieces rather than copied into the output string.
 */
function prelude(names: string[]): string {
  const locals = names.map((n) => `${n} = __locals.${n}`).join(', ');
  return `  const __Html = locals.${SELF}.Html;
  const __chunks = [];
  let __output = "";
  function __append(s) {
    if (s === undefined || s === null) return;
    if (s instanceof __Html) {
      __chunks.push(__output, ...s.chunks);
      __output = "";
      return;
    }
    __output += s;
  }
  let __locals = (locals || {}), ${locals};
`;
}
