import type { Locator, Page } from 'playwright-core';

/**
 * The row of the snapshot list with an element whose whole text is `text` — the snapshot's name, or
 * its origin ("Safety snapshot before restore"); not a row that merely contains it ("⟲ name").
 */
export function snapshotRow(page: Page, text: string): Locator {
  return page.getByRole('row').filter({ has: page.getByText(text, { exact: true }) });
}

/**
 * Waits until the row shows `status` — the page must get there by itself (its progressive
 * enhancement), since nothing here reloads it. Locators re-resolve after the page's own reloads.
 */
export async function waitForStatus(row: Locator, status: string, timeout = 30_000): Promise<void> {
  await row.getByText(status, { exact: true }).waitFor({ timeout });
}
