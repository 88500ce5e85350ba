import { fileURLToPath } from 'node:url';
import ejs from 'ejs';
import type { i18n, TFunction } from 'i18next';

const EMAILS_DIR = fileURLToPath(new URL('../../views/emails', import.meta.url));

export interface RenderedEmail {
  subject: string;
  /** Plain text, for mail clients and panels that send text only. */
  text: string;
  /** A simple, self-contained HTML version (inline styles only). */
  html: string;
}

type Format = 'text' | 'html';
type Facts = [label: string, value: string | number | null | undefined][];

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** What every email template gets besides `t`, `params` and `lng`: output helpers for its format. */
function helpers(format: Format, t: TFunction, i18n: i18n, lng: string) {
  const html = format === 'html';
  return {
    /** A paragraph. */
    p: (s: string) => (html ? `<p>${escapeHtml(s)}</p>` : `${s}\n\n`),
    /** Label/value pairs; pairs without a value are left out. */
    facts: (rows: Facts) => {
      const shown = rows.filter(([, v]) => v !== undefined && v !== null && v !== '');
      if (!shown.length) return '';
      return html
        ? `<table role="presentation" style="border-collapse:collapse;margin:0 0 1em">${shown.map(([k, v]) => `<tr><th style="text-align:left;padding:2px 12px 2px 0;font-weight:600">${escapeHtml(k)}</th><td style="padding:2px 0">${escapeHtml(String(v))}</td></tr>`).join('')}</table>`
        : `${shown.map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n`;
    },
    /** The localized text of an error code (driver and domain codes), or the generic one when unknown. */
    reason: (code: unknown) => {
      const key = `errors:${String(code ?? '')}`;
      return code && i18n.exists(key, { lng }) ? t(key) : t('notifications:reason_unknown');
    },
  };
}

/**
 * Renders a notification from `views/emails/<type>.ejs` (the event's content) inside the shared
 * layouts, once as text and once as HTML, with every word from the `notifications` locale namespace.
 */
export class EmailRenderer {
  constructor(private readonly i18n: i18n) {}

  async render(type: string, lng: string, params: Record<string, string | number>): Promise<RenderedEmail> {
    const t = this.i18n.getFixedT(lng);
    const subject = t(`notifications:${type}.subject`, params);
    const view = async (format: Format) => {
      const locals = { t, lng, params, subject, ...helpers(format, t, this.i18n, lng) };
      const content = await ejs.renderFile(`${EMAILS_DIR}/${type}.ejs`, { ...locals, format }, { cache: true });
      return ejs.renderFile(`${EMAILS_DIR}/layout.${format}.ejs`, { ...locals, content }, { cache: true });
    };
    const [text, html] = await Promise.all([view('text'), view('html')]);
    return { subject, text: tidyText(text), html };
  }
}

/** Template whitespace out of the text version: no trailing spaces, at most one blank line in a row. */
function tidyText(s: string): string {
  return s.split('\n').map((l) => l.trimEnd()).join('\n').replace(/\n{3,}/g, '\n\n').trim();
}
