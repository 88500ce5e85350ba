// Seed 000's "Configuring Snapshot Schedules": open the Snapshot Schedule tab, Create New Schedule
// (status, day of week, hour/minute, snapshots to keep, memory), read the next execution in the list,
// edit, disable, delete — and the same tab and form in Korean and Japanese with no English left.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { unnamedControls } from './helpers/accessibility.js';
import { launchChromium, type Chromium } from './helpers/chromium.js';
import { englishLeftovers } from './helpers/english-leftovers.js';
import { action, choose, setNumber } from './helpers/form-controls.js';
import { moduleText } from './helpers/locale-text.js';
import { screenshot } from './helpers/screenshots.js';
import { loginAs, snapshotsPage, type Lang, type Session } from './helpers/session.js';

const demoUrl = inject('demoUrl');

const SUBMIT = /^(Submit|Save)/;
const SEOUL_OFFSET_MS = 9 * 3_600_000; // Asia/Seoul (alice's timezone) has no daylight saving time

/** Day of the month of the next Sunday 03:30 in Seoul after `now`. */
function nextSundayDay(now = Date.now()): number {
  const seoulToday = new Date(now + SEOUL_OFFSET_MS);
  for (let d = 0; d <= 7; d++) {
    const at = Date.UTC(seoulToday.getUTCFullYear(), seoulToday.getUTCMonth(), seoulToday.getUTCDate() + d, 3, 30) - SEOUL_OFFSET_MS;
    const local = new Date(at + SEOUL_OFFSET_MS);
    if (local.getUTCDay() === 0 && at > now) return local.getUTCDate();
  }
  throw new Error('unreachable: a Sunday within 8 days');
}

describe('Snapshot Schedule tab in English (alice, db-01)', () => {
  let browser: Chromium;
  let session: Session;
  let page: Page;
  const scheduleRow = () => page.getByRole('row').filter({ hasText: /Sunday|Sun\b/ });

  beforeAll(async () => {
    browser = await launchChromium();
    session = await loginAs(browser, demoUrl, 'alice', { goto: snapshotsPage('vps-102') });
    page = session.page;
  });
  afterAll(async () => {
    await session?.close();
    await browser?.close();
  });

  it('opens the tab and the Create New Schedule form; every field is labelled', async () => {
    await page.getByRole('link', { name: 'Snapshot Schedule' }).click();
    await action(page, 'Create New Schedule').click();
    await page.getByLabel('Snapshots to keep').waitFor();
    expect(await unnamedControls(page)).toEqual([]);
  });

  it('creates an enabled Sunday 03:30 schedule keeping 2, and lists its next execution', async () => {
    await choose(page, 'Status', 'Enabled');
    await choose(page, /Day/i, 'Sunday');
    await setNumber(page, 'Hour', 3);
    await setNumber(page, 'Minute', 30);
    await setNumber(page, 'Snapshots to keep', 2);
    await page.getByLabel('Include memory state').check();
    await screenshot(page, 'en-schedule-form');
    await page.getByRole('button', { name: SUBMIT }).click();

    const row = scheduleRow();
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    expect(text).toMatch(/\b0?3:30\b/);
    expect(text).toMatch(new RegExp(`\\b${nextSundayDay()}\\b`));
    expect(text).toContain('2');
    expect(text).toContain('Enabled');
  });

  it('edits the number of snapshots to keep', async () => {
    await action(scheduleRow(), 'Edit').click();
    await setNumber(page, 'Snapshots to keep', 3);
    await page.getByRole('button', { name: SUBMIT }).click();
    await scheduleRow().waitFor();
    expect(await scheduleRow().textContent()).toContain('3');
  });

  it('disables the schedule; the list says so', async () => {
    await action(scheduleRow(), 'Edit').click();
    await choose(page, 'Status', 'Disabled');
    await page.getByRole('button', { name: SUBMIT }).click();
    await scheduleRow().filter({ hasText: 'Disabled' }).waitFor();
  });

  it('deletes the schedule after confirming', async () => {
    page.once('dialog', (dialog) => void dialog.accept()); // in case a script asks first
    const navigated = page.waitForEvent('framenavigated', (frame) => frame === page.mainFrame());
    await action(scheduleRow(), 'Delete').click();
    await navigated;
    await page.waitForLoadState();
    // Without a script the click leads either straight back to the list or to a confirmation page.
    if (!(await page.getByRole('link', { name: 'Snapshot Schedule' }).count()) || !(await scheduleRow().count())) {
      const confirm = page.getByRole('button', { name: /^Delete/ });
      if (await confirm.count()) {
        const tick = page.getByRole('checkbox');
        if (await tick.count()) await tick.first().check();
        await confirm.first().click();
      }
    }
    await page.getByRole('link', { name: 'Snapshot Schedule' }).waitFor();
    await scheduleRow().waitFor({ state: 'detached' });
  });
});

const LOCALIZED: { lang: Lang; user: string; service: string }[] = [
  { lang: 'ko', user: 'minji', service: 'vps-201' },
  { lang: 'ja', user: 'yuki', service: 'vps-301' },
];

describe.each(LOCALIZED)('Snapshot Schedule tab in $lang ($user) has no English left', ({ lang, user, service }) => {
  let browser: Chromium;
  let session: Session;
  let page: Page;
  const noEnglish = async (where: string) => expect(await englishLeftovers(page), `English left on ${where} (${page.url()})`).toEqual([]);

  beforeAll(async () => {
    browser = await launchChromium();
    session = await loginAs(browser, demoUrl, user, { lang, goto: snapshotsPage(service) });
    page = session.page;
  });
  afterAll(async () => {
    await session?.close();
    await browser?.close();
  });

  it('shows the tab, its form and the created schedule in the language', async () => {
    await page.getByRole('link', { name: moduleText(lang, 'schedules:title') }).click();
    await noEnglish('the schedule tab');
    // "Create New Schedule" in this language: the tab's one form, or the link that leads to it.
    let form = page.locator('form').filter({ has: page.locator('select, input:not([type=hidden])') });
    if (!(await form.count())) {
      // The form is on a page below the tab's address (e.g. …/schedules/new).
      const tabPath = new URL(page.url()).pathname;
      await page.locator(`main a[href^="${tabPath}/"]`).first().click();
      form = page.locator('form').filter({ has: page.locator('select, input:not([type=hidden])') });
    }
    await form.first().waitFor();
    expect(await unnamedControls(page)).toEqual([]);
    await noEnglish('the schedule form (labels, day and status options)');
    await screenshot(page, `${lang}-schedule-form`);
    // Submitted as it comes (defaults): either the list with the new schedule or a localized refusal.
    await form.first().locator('button[type=submit], input[type=submit], button:not([type])').first().click();
    await page.waitForLoadState();
    await noEnglish('the page after submitting the schedule form');
  });
});
