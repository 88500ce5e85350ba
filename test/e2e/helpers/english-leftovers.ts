import type { Page } from 'playwright-core';

/** Tokens fine on any page: units, abbreviations Korean and Japanese UIs use as is. */
const ALWAYS_FINE = new Set(['VPS', 'ID', 'GiB', 'MiB', 'KiB', 'TiB', 'GB', 'MB', 'KB', 'TB', 'B']);

/** Data the demo panel holds in Latin letters (plan, service and host names): not UI text. */
export const DEMO_DATA = [
  'Mini VPS', 'Starter VPS', 'Business VPS', 'Enterprise VPS',
  'web-01.alice.example', 'db-01.alice.example', 'blog.minji.example', 'shop.yuki.example', 'box.yuki.example',
  'web-01', 'db-01', 'minji-blog', 'yuki-shop', 'suspended-box', 'pve1',
  'vps-101', 'vps-102', 'vps-201', 'vps-301', 'vps-302',
];

/** Commands quoted in the consistency advice: typed as they are in any language. */
const COMMANDS = ['FLUSH TABLES WITH READ LOCK', 'MySQL', 'sync'];

/** What the login page lists: login names, display names and the demo password. */
export const DEMO_LOGINS = ['alice', 'minji', 'yuki', 'hostco', 'admin', 'Alice Kim', 'HostCo Reseller', 'Panel Admin', 'demo'];

// Everything a person reads or a screen reader speaks: visible text (with <details> opened and
// visually-hidden text included), option labels, the document title and label-like attributes.
const COLLECT = `(() => {
  document.querySelectorAll('details').forEach((d) => { d.open = true; });
  const attrs = [...document.querySelectorAll('[aria-label],[title],[placeholder],[alt],[aria-description]')]
    .flatMap((el) => ['aria-label', 'title', 'placeholder', 'alt', 'aria-description'].map((a) => el.getAttribute(a) || ''));
  const options = [...document.querySelectorAll('option')].map((o) => o.textContent || '');
  const values = [...document.querySelectorAll('input[type=submit],input[type=button]')].map((i) => i.value);
  return [document.title, document.body.innerText, ...attrs, ...options, ...values].join('\\n');
})()`;

/**
 * English words left on a page meant to be Korean or Japanese: every Latin-letter word that is not in
 * `allow` (data such as names) or ALWAYS_FINE. An empty list means the page is fully translated.
 */
export async function englishLeftovers(page: Page, allow: readonly string[] = []): Promise<string[]> {
  let text = await page.evaluate<string>(COLLECT);
  // Longest first, so "Starter VPS" goes before "VPS" would have split it.
  for (const fine of [...DEMO_DATA, ...COMMANDS, ...allow].sort((a, b) => b.length - a.length)) text = text.split(fine).join(' ');
  const words = text.match(/[A-Za-z]+(?:['’][A-Za-z]+)*/g) ?? [];
  return [...new Set(words.filter((w) => !ALWAYS_FINE.has(w)))];
}
