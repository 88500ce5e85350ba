import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT } from './demo-server.js';

/**
 * Saves a screenshot to test-results/screenshots/<name>.png on every run, and to docs/screenshots/
 * (the README's pictures) when E2E_UPDATE_SCREENSHOTS=1, so ordinary runs leave the repository clean.
 */
export async function screenshot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<void> {
  const dirs = [path.join(ROOT, 'test-results', 'screenshots')];
  if (process.env.E2E_UPDATE_SCREENSHOTS === '1') dirs.push(path.join(ROOT, 'docs', 'screenshots'));
  // A full-page picture taken while scrolled shows the panel's sticky sidebar halfway down the page.
  await page.evaluate('window.scrollTo(0, 0)');
  for (const dir of dirs) {
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: opts.fullPage ?? true, animations: 'disabled', caret: 'hide' });
  }
}
