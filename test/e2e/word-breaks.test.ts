// No word broken in the middle (아니/요, いい/え, Week/ly) on any page of the module, in English, Korean
// and Japanese, on a 1280 px desktop and a 390 px phone: client pages through the demo panel as each
// customer, admin pages from a module of this test's own (the demo's one admin reads English). On the way,
// the dialogs' buttons: Cancel looks like a button, and the schedule form's Save fits a 1280×800 screen.
import type { Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import type { Actor } from '../../module/index.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { DATABASES, migratedDatabase } from '../helpers/databases.js';
import { appFor } from '../helpers/http-app.js';
import { makeService, moduleFixture } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';
import { launchChromium, type Chromium } from './helpers/chromium.js';
import { englishLeftovers } from './helpers/english-leftovers.js';
import { moduleText } from './helpers/locale-text.js';
import { loginAs, snapshotsPage, type Lang } from './helpers/session.js';
import { splitWordsAtWidths } from './helpers/word-breaks.js';

const demoUrl = inject('demoUrl');

const CUSTOMERS: { lang: Lang; user: string; service: string; snapshot: string; schedule: string; suspended?: string }[] = [
  { lang: 'en', user: 'alice', service: 'vps-101', snapshot: 'before-upgrade', schedule: 'Weekly backup' },
  { lang: 'ko', user: 'minji', service: 'vps-201', snapshot: '업데이트 전 백업', schedule: '주간 백업' },
  { lang: 'ja', user: 'yuki', service: 'vps-301', snapshot: 'アップデート前', schedule: '週次バックアップ', suspended: 'vps-302' },
];

describe.skipIf(!demoUrl).each(CUSTOMERS)('no word split across lines on the client pages in $lang ($user)', (c) => {
  const t = (key: string, values?: Record<string, string | number>) => moduleText(c.lang, key, values);
  let browser: Chromium;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('list, restore and delete dialogs, schedules tab and its edit dialog, activity tab, all snapshots', async () => {
    const session = await loginAs(browser, demoUrl, c.user, { lang: c.lang, goto: snapshotsPage(c.service), context: { viewport: { width: 1280, height: 800 } } });
    const page = session.page;
    const list = snapshotsPage(c.service);
    const found: Record<string, string[]> = {};
    const row = () => page.locator('tr[data-snapshot]').filter({ has: page.getByText(c.snapshot, { exact: true }) });

    // One snapshot of our own (the quota allows three; the other walks clean up theirs).
    await page.locator('#snapshot-name').fill(c.snapshot);
    await page.locator('#create-snapshot button[type=submit]').click();
    await page.waitForURL('**?flash=created');
    await row().getByText(t('snapshots:status.active'), { exact: true }).waitFor({ timeout: 30_000 });
    await splitWordsAtWidths(page, 'list', found);

    for (const [action, title] of [['restore', 'snapshots:restore.title'], ['delete', 'snapshots:delete.title']] as const) {
      await row().getByRole('link', { name: t(`snapshots:action.${action}`) }).click();
      const dialog = page.getByRole('dialog', { name: t(title) });
      await dialog.waitFor();
      await splitWordsAtWidths(page, `${action} dialog`, found);
      const cancel = await cancelLooksLikeAButton(dialog, t(`snapshots:action.${action}`), t('common:cancel'));
      if (cancel) found[`${action} dialog: Cancel`] = [cancel];
      await page.keyboard.press('Escape');
      await page.getByRole('dialog').waitFor({ state: 'detached' });
    }

    await page.goto(`${list}/schedules`);
    await page.locator('#schedule-name').fill(c.schedule);
    await page.locator('#schedule-form input[name=days]').first().check();
    await page.locator('#schedule-form button.snapshots-button--primary').click();
    await page.waitForURL('**?flash=created');
    const schedule = page.locator('tr[data-schedule]').filter({ has: page.getByText(c.schedule, { exact: true }) });
    await splitWordsAtWidths(page, 'schedules tab', found);
    await schedule.getByRole('link', { name: t('schedules:action.edit') }).click();
    const edit = page.getByRole('dialog', { name: t('schedules:edit.title') });
    await edit.waitFor();
    await splitWordsAtWidths(page, 'schedule edit dialog', found);
    const save = await onScreen(page, edit.getByRole('button', { name: t('common:save') }));
    if (save) found['schedule edit dialog at 1280×800: Save'] = [save];
    await page.keyboard.press('Escape');
    await schedule.getByRole('link', { name: t('schedules:action.delete') }).click();
    const del = page.getByRole('dialog', { name: t('schedules:delete.title') });
    await del.waitFor();
    await splitWordsAtWidths(page, 'schedule delete dialog', found);
    await del.getByLabel(t('schedules:delete.confirm')).check();
    await del.getByRole('button', { name: t('schedules:delete.submit') }).click();
    await page.waitForURL('**?flash=deleted');

    await page.goto(`${list}/activity`);
    await splitWordsAtWidths(page, 'activity tab', found);

    if (c.suspended) {
      await page.goto(snapshotsPage(c.suspended));
      await splitWordsAtWidths(page, 'suspended service', found);
    }

    // All snapshots across the customer's services, reached from the panel's own menu.
    await page.getByRole('link', { name: t('common:all_snapshots_label') }).first().click();
    await page.getByText(c.snapshot, { exact: true }).first().waitFor();
    expect(await page.locator(`a[href*="/services/${c.service}/snapshots"]`).count()).toBeGreaterThan(0);
    await splitWordsAtWidths(page, 'all snapshots', found);
    if (c.lang !== 'en') {
      const leftovers = await englishLeftovers(page, [c.snapshot, c.schedule]);
      if (leftovers.length) found['all snapshots: English left'] = leftovers;
    }

    // Leave the service as we found it: the other walks start from an empty list.
    await page.goto(list);
    await row().getByRole('link', { name: t('snapshots:action.delete') }).click();
    const delSnapshot = page.getByRole('dialog', { name: t('snapshots:delete.title') });
    await delSnapshot.getByLabel(t('snapshots:delete.confirm')).check();
    await delSnapshot.getByRole('button', { name: t('snapshots:action.delete') }).click();
    await page.waitForURL('**?flash=delete_scheduled');
    await row().waitFor({ state: 'detached', timeout: 30_000 });
    await session.close();

    expect(found).toEqual({});
  });
});

/** Why `button` cannot be seen and clicked where it is, on a 1280×800 screen without scrolling; null if it can. */
async function onScreen(page: Page, button: Locator): Promise<string | null> {
  const box = await button.boundingBox();
  if (!box) return 'not laid out';
  if (box.y < 0 || box.y + box.height > 800) return `outside the screen (top ${Math.round(box.y)} px, height ${Math.round(box.height)} px)`;
  const hit = await button.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const top = el.ownerDocument.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return !!top && el.contains(top);
  });
  return hit ? null : 'covered by something else';
}

/**
 * Why the dialog's Cancel would not read as a button next to its submit button; null if it does: on
 * the same line, no wider than a button, and not dressed like the dialog's text fields.
 */
async function cancelLooksLikeAButton(dialog: Locator, submitName: string, cancelName: string): Promise<string | null> {
  const cancel = dialog.getByRole('link', { name: cancelName, exact: true });
  const submit = dialog.getByRole('button', { name: submitName, exact: true });
  const [c, s] = [await cancel.boundingBox(), await submit.boundingBox()];
  if (!c || !s) return 'not laid out';
  if (Math.abs(c.y - s.y) > 4) return `not on the submit button's line (${Math.round(c.y)} vs ${Math.round(s.y)})`;
  if (c.width > 3 * s.width) return `as wide as a text field (${Math.round(c.width)} px)`;
  const looks = (target: Locator) => target.evaluate((el) => {
    const st = el.ownerDocument.defaultView!.getComputedStyle(el);
    return `${st.backgroundColor} ${st.borderTopColor}`;
  });
  const field = dialog.locator('input[type=text], input:not([type]), textarea').first();
  if ((await field.count()) && (await looks(cancel)) === (await looks(field))) return 'styled like a text field';
  return null;
}

const ADMINS: Record<Lang, Actor> = {
  en: { id: 'root', role: 'admin', locale: 'en', timezone: 'UTC' },
  ko: { id: 'root-ko', role: 'admin', locale: 'ko', timezone: 'Asia/Seoul' },
  ja: { id: 'root-ja', role: 'admin', locale: 'ja', timezone: 'Asia/Tokyo' },
};
const ADMIN_PAGES = ['', '/limits', '/items', '/operations', '/health', '/audit'];

describe.skipIf(!demoUrl)('no word split across lines on the admin pages', () => {
  let browser: Chromium;
  let server: Server;
  let url = '';
  let stop: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const database = await migratedDatabase(DATABASES.find((d) => d.kind === 'sqlite')!);
    const driver = new SimulatedDriver({});
    const service = makeService();
    const fx = await moduleFixture(database.db, {
      services: [service], driver,
      panel: {
        getActor: (req) => ADMINS[req.get('x-test-admin') as Lang] ?? null,
        listPlans: () => [{ id: 'basic', name: 'Basic VPS' }, { id: 'business', name: 'Business VPS' }],
      },
    });
    await fx.mod.start();
    // Something on every page: a current snapshot, a failed one (an error, an operation to retry).
    const ctx = { actor: { type: 'customer' as const, id: 'alice' } };
    await fx.mod.snapshots.create(service, { name: 'nightly' }, ctx);
    driver.injectFailure({ operation: 'create', code: 'rejected', vmId: service.target.vmId });
    await fx.mod.snapshots.create(service, { name: 'broken' }, ctx);
    await waitFor(async () => (await database.db('snapshot_snapshots').whereIn('status', ['active', 'failed'])).length === 2, 10_000, 'snapshots settled');
    const app = express();
    app.use(appFor(fx.mod));
    server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    stop = async () => {
      await new Promise((resolve) => server.close(resolve));
      await fx.mod.stop();
      await database.destroy();
    };
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stop();
  });

  it.each(['en', 'ko', 'ja'] as const)('overview, limits, items, operations, health and audit in %s', async (lang) => {
    const context = await browser.newContext({ baseURL: url, extraHTTPHeaders: { 'x-test-admin': lang }, viewport: { width: 1280, height: 800 } });
    const page: Page = await context.newPage();
    const found: Record<string, string[]> = {};
    for (const path of ADMIN_PAGES) {
      const res = await page.goto(`/admin/snapshots${path}`);
      expect(res?.status(), path).toBe(200);
      expect(await page.locator('html').getAttribute('lang')).toBe(lang);
      await splitWordsAtWidths(page, path || '/', found);
    }
    await context.close();
    expect(found).toEqual({});
  });
});
