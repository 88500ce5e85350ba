import type { Locator, Page } from 'playwright-core';

const CONTROL_ROLES = 'textbox|searchbox|checkbox|radio|combobox|listbox|spinbutton|slider|switch|button|link';
// An ARIA snapshot line of a control with no accessible name: `- textbox`, `- checkbox [checked]`, `- link:`.
const UNNAMED = new RegExp(`^\\s*- (?:${CONTROL_ROLES})(?: \\[[^\\]]*\\])*:?$`);

// Form fields no <label> points at and no aria-label(ledby) names: what a screen reader reads as "edit text".
const UNLABELLED_FIELDS = `[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map((el) => el.outerHTML)`;

/**
 * Controls without an accessible name: fields without a label (queried in the DOM) and any control
 * whose computed name (chromium's accessibility tree, via Playwright's ARIA snapshot) is empty.
 */
export async function unnamedControls(page: Page): Promise<string[]> {
  const fields = await page.evaluate<string[]>(UNLABELLED_FIELDS);
  const tree = await page.locator('body').ariaSnapshot();
  return [...fields, ...tree.split('\n').filter((line) => UNNAMED.test(line)).map((line) => `aria: ${line.trim()}`)];
}

/** True when the page is wider than the viewport (the user would have to scroll sideways). */
export async function scrollsSideways(page: Page): Promise<{ scrollWidth: number; clientWidth: number } | null> {
  const size = await page.evaluate<{ scrollWidth: number; clientWidth: number }>(
    '({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth })');
  return size.scrollWidth > size.clientWidth ? size : null;
}

/** What has keyboard focus: its id, else its name attribute, else its text. */
export async function focused(page: Page): Promise<string> {
  return page.evaluate<string>(`(() => { const el = document.activeElement;
    return el ? (el.id || el.getAttribute('name') || (el.textContent || '').trim()) : ''; })()`);
}

/** Presses Tab until `target` (see `focused`) has focus; fails after `max` presses. */
export async function tabTo(page: Page, target: string, max = 60): Promise<number> {
  for (let presses = 1; presses <= max; presses++) {
    await page.keyboard.press('Tab');
    if ((await focused(page)) === target) return presses;
  }
  throw new Error(`${target} never got keyboard focus in ${max} Tab presses (last: ${await focused(page)})`);
}

/** True when `target` has keyboard focus — or, with `within`, when something inside it has. */
export async function hasFocus(target: Locator, within = false): Promise<boolean> {
  return target.evaluate((el, inside) => {
    const active = el.ownerDocument.activeElement;
    return inside ? el.contains(active) : el === active;
  }, within);
}
