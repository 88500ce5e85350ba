import type { Page } from 'playwright-core';

// Every word of the module's visible text (its section and any open dialog; the panel's chrome is the
// host's) cut into words the way the page's language does (Intl.Segmenter: 아니요, いいえ, Weekly are
// one word each), then laid out by the browser: a word whose boxes sit on two lines was split.
const SPLIT_WORDS = `(() => {
  const lang = document.documentElement.lang || 'en';
  const segmenter = new Intl.Segmenter(lang, { granularity: 'word' });
  const roots = [...document.querySelectorAll('section.snapshots, dialog[open]')];
  const found = [];
  for (const root of roots) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (!parent || !parent.checkVisibility({ visibilityProperty: true })) continue;
      // Spoken, not seen: a 1px clipped box has no lines to speak of.
      if (parent.closest('.snapshots-visually-hidden, option, script, style')) continue;
      for (const s of segmenter.segment(node.data)) {
        if (!s.isWordLike || s.segment.length < 2) continue;
        const range = document.createRange();
        range.setStart(node, s.index);
        range.setEnd(node, s.index + s.segment.length);
        const tops = [...range.getClientRects()].filter((r) => r.width > 0 && r.height > 0).map((r) => r.top);
        if (tops.length > 1 && Math.max(...tops) - Math.min(...tops) > 2) {
          const where = parent.className ? parent.tagName.toLowerCase() + '.' + String(parent.className).split(' ')[0] : parent.tagName.toLowerCase();
          found.push(s.segment + ' in ' + where + ': "' + node.data.trim().slice(0, 60) + '"');
        }
      }
    }
  }
  return [...new Set(found)];
})()`;

/** Words of the module's visible text split across two lines, as `word in element: "text"`. */
export async function splitWords(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(SPLIT_WORDS);
}

export const WIDTHS = [1280, 390] as const;

/** Split words at each width (same page, re-laid out), keyed `where @ width`. */
export async function splitWordsAtWidths(page: Page, where: string, found: Record<string, string[]>): Promise<void> {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 800 });
    const words = await splitWords(page);
    if (words.length) found[`${where} @ ${width}`] = words;
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}
