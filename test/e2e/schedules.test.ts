// Seed 000's "Configuring Snapshot Schedules": open the Snapshot Schedule tab, fill Create New Schedule
// (status, day of week, hour/minute, snapshots to keep, memory), read the next execution in the list,
// edit (in the confirmation dialog), disable, delete — and the same tab, form and dialogs in Korean and
// Japanese with no English left.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { hasFocus, unnamedControls } from './helpers/accessibility.js';
import { launchChromium, type Chromium } from './helpers/chromium.js';
import { englishLeftovers } from './helpers/english-leftovers.js';
import { moduleText } from './helpers/locale-text.js';
import { screenshot } from './helpers/screenshots.js';
import { loginAs, snapshotsPage, type Lang, type Session } from './helpers/session.js';

const demoUrl = inject('demoUrl');

const SEOUL_OFFSET_MS = 9 * 3_600_000; // Asia/Seoul (alice's timezone) has no daylight saving time

/** The next Sunday 03:30 in Seoul after `now`, as an instant. */
function nextSundayAt0330Seoul(now = Date.now()): Date {
  const seoulToday = new Date(now + SEOUL_OFFSET_MS);
  for (let d = 0; d <= 7; d++) {
    const at = Date.UTC(seoulToday.getUTCFullYear(), seoulToday.getUTCMonth(), seoulToday.getUTCDate() + d, 3, 30) - SEOUL_OFFSET_MS;
    if (new Date(at + SEOUL_OFFSET_MS).getUTCDay() === 0 && at > now) return new Date(at);
  }
  throw new Error('unreachable: a Sunday within 8 days');
}

/** A cell of a schedule row, by its column (the cell's data-label, which the phone layout shows). */
const cell = (row: Locator, column: string) => row.locator(`td[data-label="${column}"]`);

describe.skipIf(!demoUrl)('Snapshot Schedule tab in English (alice, db-01)', () => {
  const NAME = 'weekly-db';
  let browser: Chromium;
  let session: Session;
  let page: Page;
  const scheduleRow = () => page.getByRole('row').filter({ has: page.getByText(NAME, { exact: true }) });
  const createForm = () => page.locator('form', { has: page.getByRole('heading', { name: 'Create New Schedule' }) });

  beforeAll(async () => {
    browser = await launchChromium();
    session = await loginAs(browser, demoUrl, 'alice', { goto: snapshotsPage('vps-102') });
    page = session.page;
  });
  afterAll(async () => {
    await session?.close();
    await browser?.close();
  });

  it('opens the tab with the Create New Schedule form; every field is labelled', async () => {
    await page.getByRole('navigation', { name: 'Snapshot sections' }).getByRole('link', { name: 'Snapshot Schedule' }).click();
    await page.waitForURL(`**${snapshotsPage('vps-102')}/schedules`);
    expect(await page.getByText('No schedules yet.').count()).toBe(1);
    await createForm().waitFor();
    expect(await unnamedControls(page)).toEqual([]);
    // The viewer's own timezone is the default.
    expect(await createForm().getByLabel('Time zone').inputValue()).toBe('Asia/Seoul');
  });

  it('creates an enabled Sunday 03:30 schedule keeping 2 with memory, and lists its next execution', async () => {
    const form = createForm();
    await form.getByLabel('Schedule name').fill(NAME);
    await form.getByLabel('Status').selectOption({ label: 'Enabled' });
    await form.getByRole('group', { name: 'Day of week' }).getByLabel('Sunday', { exact: true }).check();
    // Hours on the page's one clock: 12-hour in English, like the times in the list.
    await form.getByLabel('Hour', { exact: true }).selectOption({ label: '3 AM' });
    await form.getByLabel('Minute', { exact: true }).selectOption({ label: '30' });
    await form.getByLabel('Snapshots to keep').fill('2');
    await form.getByLabel('Include memory state').check();
    await screenshot(page, 'en-schedule-form');
    await form.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL('**?flash=created');
    expect(await page.getByRole('status').filter({ hasText: 'Schedule created.' }).count()).toBe(1);

    const row = scheduleRow();
    expect((await cell(row, 'Day of week').textContent())?.trim()).toBe('Sun');
    expect((await cell(row, 'Time').textContent())?.trim()).toBe('3:30 AM (Korean Standard Time)');
    expect((await cell(row, 'Snapshots to keep').textContent())?.trim()).toBe('2');
    expect((await cell(row, 'Include memory').textContent())?.trim()).toBe('Yes');
    expect((await cell(row, 'Status').textContent())?.trim()).toBe('Enabled');
    // The next execution: the coming Sunday 03:30 in Seoul, shown in alice's timezone.
    const expected = nextSundayAt0330Seoul();
    const next = cell(row, 'Next execution').locator('time');
    expect(await next.getAttribute('datetime')).toBe(expected.toISOString());
    const shown = (await next.textContent()) ?? '';
    const seoulDay = new Date(expected.getTime() + SEOUL_OFFSET_MS).getUTCDate();
    expect(shown).toMatch(new RegExp(`\\b${seoulDay}\\b`));
    expect(shown).toMatch(/\b3:30\sAM GMT\+9$/);
    // And how far off it is: within a week, so never more than 7 days.
    expect(await cell(row, 'Next execution').textContent()).toMatch(/(tomorrow|in [1-7] days|in \d+ (hours?|minutes?))$/);
    // The plan allows one schedule: the form gives way to a note saying so.
    expect(await createForm().count()).toBe(0);
    expect(await page.getByText("You have reached your plan's number of schedules.", { exact: false }).count()).toBe(1);
  });

  it('edits the number of snapshots to keep in the Edit dialog', async () => {
    await scheduleRow().getByRole('link', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog', { name: `Edit schedule — ${NAME}` });
    await dialog.waitFor();
    expect(await unnamedControls(page)).toEqual([]);
    // The dialog holds the schedule's own values.
    expect(await dialog.getByLabel('Schedule name').inputValue()).toBe(NAME);
    expect(await dialog.getByLabel('Sunday', { exact: true }).isChecked()).toBe(true);
    expect(await dialog.getByLabel('Monday', { exact: true }).isChecked()).toBe(false);
    expect(await dialog.getByLabel('Include memory state').isChecked()).toBe(true);
    await dialog.getByLabel('Snapshots to keep').fill('3');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL('**?flash=updated');
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(await page.getByRole('status').filter({ hasText: 'Schedule saved.' }).count()).toBe(1);
    expect((await cell(scheduleRow(), 'Snapshots to keep').textContent())?.trim()).toBe('3');
  });

  it('closes the Edit dialog with Cancel without saving anything', async () => {
    let posts = 0;
    const count = (r: { method: () => string }) => { if (r.method() === 'POST') posts++; };
    page.on('request', count);
    const edit = scheduleRow().getByRole('link', { name: 'Edit' });
    await edit.click();
    const dialog = page.getByRole('dialog', { name: `Edit schedule — ${NAME}` });
    await dialog.getByLabel('Snapshots to keep').fill('1');
    await dialog.getByRole('link', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    page.off('request', count);
    expect(posts).toBe(0);
    expect(page.url()).toContain('flash=updated'); // still the same list page
    expect(await hasFocus(edit)).toBe(true);
    await page.reload();
    expect((await cell(scheduleRow(), 'Snapshots to keep').textContent())?.trim()).toBe('3');
  });

  it('previews in the Edit dialog, as keep is typed, what the next runs would rotate, saving nothing (public/schedule-preview.js)', async () => {
    await scheduleRow().getByRole('link', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog', { name: `Edit schedule — ${NAME}` });
    await dialog.getByLabel('Snapshots to keep').fill('1');
    const preview = dialog.getByRole('region', { name: 'What the next runs would delete' });
    await preview.waitFor();
    expect(await preview.locator('li').count()).toBe(3);
    // Keeping one: from the second run on, each rotates out the one before it.
    expect(await preview.locator('li').nth(1).textContent()).toMatch(/rotates out the snapshot taken Sun, /);
    await dialog.getByRole('link', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.reload();
    expect((await cell(scheduleRow(), 'Snapshots to keep').textContent())?.trim()).toBe('3');
  });

  it('disables the schedule from its row; the list says so and nothing is scheduled', async () => {
    await scheduleRow().getByRole('button', { name: `Disable schedule ${NAME}` }).click();
    await page.waitForURL('**?flash=disabled');
    const row = scheduleRow();
    expect((await cell(row, 'Status').textContent())?.trim()).toBe('Disabled');
    expect((await cell(row, 'Next execution').textContent())?.trim()).toBe('Not scheduled');
    expect(await row.getByRole('button', { name: `Enable schedule ${NAME}` }).count()).toBe(1);
  });

  it('deletes the schedule in the Delete dialog only once "Yes, delete" is ticked', async () => {
    await scheduleRow().getByRole('link', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete schedule' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(NAME);
    // Unticked, the browser's own `required` check stops the post.
    await dialog.getByRole('button', { name: 'Delete schedule' }).click();
    await page.waitForTimeout(300);
    expect(await dialog.isVisible()).toBe(true);
    await dialog.getByLabel('Yes, delete this schedule').check();
    await dialog.getByRole('button', { name: 'Delete schedule' }).click();
    await page.waitForURL('**?flash=deleted');
    expect(await page.getByRole('status').filter({ hasText: 'Schedule deleted.' }).count()).toBe(1);
    expect(await scheduleRow().count()).toBe(0);
    expect(await page.getByText('No schedules yet.').count()).toBe(1);
    await createForm().waitFor();
  });
});

const LOCALIZED: { lang: Lang; user: string; service: string; name: string; timezone: string }[] = [
  { lang: 'ko', user: 'minji', service: 'vps-201', name: '주간 백업', timezone: 'Asia/Seoul' },
  { lang: 'ja', user: 'yuki', service: 'vps-301', name: '週次バックアップ', timezone: 'Asia/Tokyo' },
];

// IANA timezone names ("Asia/Seoul") are identifiers typed the same in every language: the form's
// choices carry them after the zone's own name, and offsets read "GMT+09:00" in Korean and Japanese
// too. Everything else must be in the language.
const ZONES = [...Intl.supportedValuesOf('timeZone'), 'UTC', 'GMT'];

describe.skipIf(!demoUrl).each(LOCALIZED)('Snapshot Schedule tab in $lang ($user) has no English left', ({ lang, user, service, name, timezone }) => {
  const t = (key: string, values?: Record<string, string | number>) => moduleText(lang, key, values);
  let browser: Chromium;
  let session: Session;
  let page: Page;
  const noEnglish = async (where: string) => {
    expect(await englishLeftovers(page, ZONES), `English left on ${where} (${page.url()})`).toEqual([]);
    expect(await page.locator('html').getAttribute('lang')).toBe(lang);
  };
  const row = () => page.getByRole('row').filter({ has: page.getByText(name, { exact: true }) });

  beforeAll(async () => {
    browser = await launchChromium();
    session = await loginAs(browser, demoUrl, user, { lang, goto: snapshotsPage(service) });
    page = session.page;
  });
  afterAll(async () => {
    await session?.close();
    await browser?.close();
  });

  it('shows the tab and its form in the language, and creates a schedule', async () => {
    await page.getByRole('navigation', { name: t('schedules:tabs_label') }).getByRole('link', { name: t('schedules:title') }).click();
    const form = page.locator('form', { has: page.getByRole('heading', { name: t('schedules:form.create_title') }) });
    await form.waitFor();
    expect(await unnamedControls(page)).toEqual([]);
    await noEnglish('the schedule tab and its form (labels, day and status options)');
    expect(await form.getByLabel(t('schedules:form.timezone')).inputValue()).toBe(timezone);
    await screenshot(page, `${lang}-schedule-form`);

    await form.getByLabel(t('schedules:form.name')).fill(name);
    await form.getByRole('group', { name: t('schedules:form.days') }).getByRole('checkbox').last().check(); // Sunday, the last
    await form.getByLabel(t('schedules:form.hour'), { exact: true }).selectOption('15');
    await form.getByLabel(t('schedules:form.minute'), { exact: true }).selectOption('45');
    await form.getByRole('button', { name: t('schedules:form.submit') }).click();
    await page.waitForURL('**?flash=created');
    expect(await page.getByRole('status').filter({ hasText: t('schedules:flash.created') }).count()).toBe(1);
    // An afternoon time on a 24-hour clock, in the schedule and in its next execution: a 12-hour clock
    // would show 3:45 with 오후/午後 or a leftover "PM" (caught below as English).
    expect(await cell(row(), t('schedules:column.time')).textContent()).toContain('15:45');
    expect(await cell(row(), t('schedules:column.next_run')).locator('time').textContent()).toContain('15:45');
    await noEnglish('the list with the schedule (days, time, next execution)');
  });

  it('shows the Edit and Delete dialogs in the language, then deletes', async () => {
    await row().getByRole('link', { name: t('schedules:action.edit') }).click();
    const edit = page.getByRole('dialog', { name: `${t('schedules:edit.title')} — ${name}` });
    await edit.waitFor();
    await noEnglish('the Edit dialog');
    await edit.getByRole('link', { name: t('common:cancel') }).click();
    await edit.waitFor({ state: 'detached' });

    await row().getByRole('link', { name: t('schedules:action.delete') }).click();
    const del = page.getByRole('dialog', { name: t('schedules:delete.title') });
    await del.waitFor();
    await noEnglish('the Delete dialog');
    await del.getByLabel(t('schedules:delete.confirm')).check();
    await del.getByRole('button', { name: t('schedules:delete.submit') }).click();
    await page.waitForURL('**?flash=deleted');
    expect(await row().count()).toBe(0);
    await noEnglish('the list after deleting');
  });
});
