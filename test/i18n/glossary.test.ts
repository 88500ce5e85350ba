// One word per idea in each language: docs/glossary.md lists the chosen words and the variants that
// must not come back; every locale string is checked against it, plus Japanese punctuation spacing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCALES_DIR, NAMESPACES } from '../../module/i18n/i18n.js';

type Tree = { [k: string]: string | Tree };
type Lang = 'en' | 'ko' | 'ja';
const LANGS: Lang[] = ['en', 'ko', 'ja'];

function flatten(tree: Tree, prefix = ''): [string, string][] {
  return Object.entries(tree).flatMap(([k, v]) => (typeof v === 'string' ? [[prefix + k, v] as [string, string]] : flatten(v, `${prefix}${k}.`)));
}

/** Every string of a language as `ns:key` → text. */
function strings(lang: Lang): [string, string][] {
  return NAMESPACES.flatMap((ns) => flatten(JSON.parse(readFileSync(join(LOCALES_DIR, lang, `${ns}.json`), 'utf8')) as Tree)
    .map(([key, text]): [string, string] => [`${ns}:${key}`, text]));
}

interface Term { term: string; chosen: Record<Lang, string[]>; avoid: Record<Lang, string[]> }

const words = (cell: string) => cell.split(/[(),]/).map((w) => w.trim()).filter((w) => w && w !== '—');

/** The glossary's table: | Term | en | ko | ja | Not to use (en) | Not to use (ko) | Not to use (ja) |. */
function readGlossary(markdown: string): Term[] {
  const rows = markdown.split('\n').filter((line) => line.startsWith('|'))
    .map((line) => line.slice(1, line.lastIndexOf('|')).split('|').map((c) => c.trim()));
  const [header, , ...body] = rows;
  expect(header, 'glossary table header').toEqual(['Term', 'en', 'ko', 'ja', 'Not to use (en)', 'Not to use (ko)', 'Not to use (ja)']);
  return body.map((c) => ({
    term: c[0]!,
    chosen: { en: words(c[1]!), ko: words(c[2]!), ja: words(c[3]!) },
    avoid: { en: words(c[4]!), ko: words(c[5]!), ja: words(c[6]!) },
  }));
}

/** Strings of `lang` that use a variant the glossary rules out, as `ns:key: variant (term) in "text"`. */
function variantsUsed(terms: Term[], lang: Lang, texts: [string, string][]): string[] {
  const chosen = terms.flatMap((t) => t.chosen[lang]).sort((a, b) => b.length - a.length);
  const found: string[] = [];
  for (const [key, text] of texts) {
    for (const t of terms) {
      for (const variant of t.avoid[lang]) {
        // A chosen word containing the variant (스케줄러 holds 스케줄) is another term, not the variant.
        const cleaned = chosen.filter((w) => w.includes(variant)).reduce((s, w) => s.split(w).join(' '), text);
        if (cleaned.toLowerCase().includes(variant.toLowerCase())) found.push(`${key}: ${variant} (${t.term}) in "${text}"`);
      }
    }
  }
  return found;
}

/** Japanese strings with a space after 。 or 、 (full-width punctuation carries its own spacing). */
function spacedPunctuation(texts: [string, string][]): string[] {
  return texts.filter(([, text]) => /[。、][ \u3000]/.test(text)).map(([key, text]) => `${key}: "${text}"`);
}

const glossary = readGlossary(readFileSync(join(LOCALES_DIR, '..', 'docs', 'glossary.md'), 'utf8'));

describe('glossary (docs/glossary.md)', () => {
  it('lists the product\'s terms, each with a chosen word in every language', () => {
    expect(glossary.length).toBeGreaterThan(5);
    for (const t of glossary) for (const lang of LANGS) expect(t.chosen[lang].length, `${t.term} in ${lang}`).toBeGreaterThan(0);
    // The seed's own words: the client guide says "Snapshot Schedule" and "Pinned".
    expect(glossary.find((t) => t.term === 'snapshot schedule')?.chosen.ko).toContain('예약');
    expect(glossary.find((t) => t.term.startsWith('pinned'))?.chosen.ja).toContain('ピン留め');
  });

  it('flags a variant, but not a chosen word that contains it', () => {
    const terms = glossary;
    expect(variantsUsed(terms, 'ko', [['x:a', '스케줄을 삭제했습니다.'], ['x:b', '스케줄러 상태']])).toEqual([expect.stringMatching(/^x:a: 스케줄/)]);
    expect(variantsUsed(terms, 'ja', [['x:c', 'スナップショットを固定']])).toHaveLength(1);
    expect(spacedPunctuation([['x:d', '削除しました。 元に戻せません。'], ['x:e', '削除しました。元に戻せません。']])).toEqual(['x:d: "削除しました。 元に戻せません。"']);
  });

  for (const lang of LANGS) {
    it(`${lang}: every locale string uses the chosen words`, () => {
      expect(variantsUsed(glossary, lang, strings(lang))).toEqual([]);
    });
  }

  it('ja: no space after 。 or 、', () => {
    expect(spacedPunctuation(strings('ja'))).toEqual([]);
  });
});
