// Spot checks for people who use a keyboard, a screen reader or a phone: every control has a name,
// the create form works from the keyboard alone, and a 390 px wide phone never scrolls sideways.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { focused, scrollsSideways, tabTo, unnamedControls } from './helpers/accessibility.js';
import { launchChromium, type Chromium } from './helpers/chromium.js';
import { screenshot } from './helpers/screenshots.js';
import { loginAs, snapshotsPage, type Session } from './helpers/session.js';
import { snapshotRow, waitForStatus } from './helpers/snapshot-list.js';

const demoUrl = inject('demoUrl');
const SERVICE = { id: 'vps-102', name: 'db-01' };
const LIST = snapshotsPage(SERVICE.id);

describe.skipIf(!demoUrl)('accessibility and keyboard (alice, db-01)', () => {
  let browser: Chromium;
  let session: Session;
  let page: Page;

  beforeAll(async () => {
    browser = await launchChromium();
    session = await loginAs(browser, demoUrl, 'alice', { goto: LIST });
    page = session.page;
  });
  afterAll(async () => {
    await session?.close();
    await browser?.close();
  });

  it('creates a snapshot with the keyboard alone: Tab to each field, Space to tick, Enter to submit', async () => {
    await tabTo(page, 'snapshot-name');
    await page.keyboard.type('keyboard-only');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('snapshot-description');
    await page.keyboard.type('made without a mouse');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('snapshot-memory');
    await page.keyboard.press('Space');
    expect(await page.getByLabel('Include memory state').isChecked()).toBe(true);
    await tabTo(page, 'Create Snapshot', 5);
    await page.keyboard.press('Enter');
    await page.waitForURL('**?flash=created');
    const row = snapshotRow(page, 'keyboard-only');
    expect(await row.textContent()).toContain('made without a mouse');
    await waitForStatus(row, 'Current');
    expect(await row.textContent()).toMatch(/Memory: \d/);
  });

  it('gives every control on every page an accessible name', async () => {
    const pages: Record<string, () => Promise<unknown>> = {
      'services list': () => page.goto('/services'),
      'service overview': () => page.goto(`/services/${SERVICE.id}`),
      'snapshots list': () => page.goto(LIST),
      // The confirmations open as dialogs over the list: checked with the dialog open.
      'edit dialog': () => openDialog('Edit', 'Edit snapshot'),
      'restore dialog': () => openDialog('Restore', 'Restore from snapshot'),
      'delete dialog': () => openDialog('Delete', 'Delete snapshot'),
    };
    async function openDialog(link: string, title: string) {
      await page.goto(LIST);
      await snapshotRow(page, 'keyboard-only').getByRole('link', { name: link }).click();
      await page.getByRole('dialog', { name: title }).waitFor();
    }
    const found: Record<string, string[]> = {};
    for (const [name, open] of Object.entries(pages)) {
      await open();
      await page.getByRole('heading', { level: 1 }).first().waitFor();
      const unnamed = await unnamedControls(page);
      if (unnamed.length) found[name] = unnamed;
    }
    expect(found).toEqual({});
    // The row's pin toggle is named for its snapshot, not just "No".
    await page.goto(LIST);
    expect(await snapshotRow(page, 'keyboard-only').getByRole('button', { name: 'Pin keyboard-only' }).count()).toBe(1);
  });

  it('names the login form\'s fields', async () => {
    const context = await browser.newContext({ baseURL: demoUrl });
    const login = await context.newPage();
    await login.goto('/login');
    expect(await unnamedControls(login)).toEqual([]);
    await context.close();
  });

  it('fits a 390×844 phone: no sideways scrolling on the panel and Snapshots pages', async () => {
    const phone = await loginAs(browser, demoUrl, 'alice', { goto: LIST, context: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } });
    try {
      const wide: Record<string, unknown> = {};
      for (const path of ['/services', `/services/${SERVICE.id}`, LIST]) {
        await phone.page.goto(path);
        const size = await scrollsSideways(phone.page);
        if (size) wide[path] = size;
      }
      await snapshotRow(phone.page, 'keyboard-only').getByRole('link', { name: 'Restore' }).click();
      await phone.page.getByRole('dialog', { name: 'Restore from snapshot' }).waitFor();
      const restore = await scrollsSideways(phone.page);
      if (restore) wide.restore = restore;
      expect(wide).toEqual({});
      // The list's rows are readable cards on a phone: each cell says what it is.
      await phone.page.goto(LIST);
      expect(await snapshotRow(phone.page, 'keyboard-only').isVisible()).toBe(true);
      await screenshot(phone.page, 'phone');
    } finally {
      await phone.close();
    }
  });
});
