import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './demo-server.js';

type Tree = { [key: string]: string | Tree };

/**
 * A module string from locales/<lang>/<ns>.json, placeholders filled — to drive a Korean or Japanese
 * page by its own words. Whether those words are real translations is test/i18n's job; here a page
 * that shows English instead fails the English-leftovers check.
 */
export function moduleText(lang: string, key: string, values: Record<string, string | number> = {}): string {
  const [ns, dotted] = key.split(':') as [string, string];
  let node: string | Tree = JSON.parse(readFileSync(path.join(ROOT, 'locales', lang, `${ns}.json`), 'utf8')) as Tree;
  for (const part of dotted.split('.')) {
    if (typeof node !== 'object' || !(part in node)) throw new Error(`no ${key} in ${lang}`);
    node = node[part]!;
  }
  if (typeof node !== 'string') throw new Error(`${key} in ${lang} is not a string`);
  return node.replace(/\{\{(\w+)\}\}/g, (m, k: string) => (k in values ? String(values[k]) : m));
}
