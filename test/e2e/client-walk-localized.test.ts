// Korean (minji) and Japanese (yuki) customers: every page they reach — the demo panel's login,
// services and overview pages and the module's Snapshots pages inside that chrome — must be fully in
// their language. Each page's visible and spoken text is checked for English words left over.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchChromium, type Chromium } from './helpers/chromium.js';
import { DEMO_LOGINS, englishLeftovers } from './helpers/english-leftovers.js';
import { moduleText } from './helpers/locale-text.js';
import { screenshot } from './helpers/screenshots.js';
import { LOGIN_WORDS, loginAs, snapshotsPage, type Lang, type Session } from './helpers/session.js';
import { snapshotRow, waitForStatus } from './helpers/snapshot-list.js';

const demoUrl = inject('demoUrl');

const WALKS: { lang: Lang; user: string; service: { id: string; name: string }; snapshot: string; renamed: string; description: string; overview: string }[] = [
  { lang: 'ko', user: 'minji', service: { id: 'vps-201', name: 'minji-blog' }, snapshot: '블로그 개편 전', renamed: '개편 전 (확인됨)',
    description: '테마 교체 전 상태', overview: '개요' },
  { lang: 'ja', user: 'yuki', service: { id: 'vps-301', name: 'yuki-shop' }, snapshot: 'セール前', renamed: 'セール前（確認済み）',
    description: '価格改定の前の状態', overview: '概要' },
];

describe.skipIf(!demoUrl).each(WALKS)('client area in $lang ($user) has no English left', (walk) => {
  const t = (key: string, values?: Record<string, string | number>) => moduleText(walk.lang, key, values);
  let browser: Chromium;
  let session: Session;
  let page: Page;

  /** Fails with the page and the words when anything English is left. */
  async function expectNoEnglish(where: string, allow: string[] = []) {
    const left = await englishLeftovers(page, allow);
    expect(left, `English left on ${where} (${page.url()})`).toEqual([]);
    expect(await page.locator('html').getAttribute('lang')).toBe(walk.lang);
  }

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await session?.close();
    await browser?.close();
  });

  it('shows the login page in the browser\'s language, then logs in', async () => {
    const context = await browser.newContext({ baseURL: demoUrl, locale: walk.lang === 'ko' ? 'ko-KR' : 'ja-JP' });
    page = await context.newPage();
    await page.goto('/login');
    await expectNoEnglish('the login page', DEMO_LOGINS);
    // A wrong password is refused in the same language.
    const words = LOGIN_WORDS[walk.lang];
    await page.getByLabel(words.username).fill(walk.user);
    await page.getByLabel(words.password).fill('wrong');
    await page.getByRole('button', { name: words.submit, exact: true }).click();
    await page.getByRole('alert').waitFor();
    await expectNoEnglish('the failed login page', DEMO_LOGINS);
    // The check itself catches English: the same page asked for in English is full of it.
    await page.goto('/login?lng=en');
    expect(await englishLeftovers(page, DEMO_LOGINS)).toEqual(expect.arrayContaining(['Username', 'Password', 'Log']));
    await context.close();

    session = await loginAs(browser, demoUrl, walk.user, { lang: walk.lang });
    page = session.page;
    await expectNoEnglish('the services list');
  });

  it('reaches the Snapshots page from the service overview', async () => {
    await page.getByRole('link', { name: walk.service.name, exact: true }).click();
    await page.waitForURL(`**/services/${walk.service.id}`);
    await expectNoEnglish('the service overview');
    await page.getByRole('link', { name: t('common:menu_label'), exact: true }).click();
    await page.waitForURL(`**${snapshotsPage(walk.service.id)}`);
    expect(await page.getByText(t('snapshots:empty')).count()).toBe(1);
    await expectNoEnglish('the empty Snapshots page');
  });

  it('creates a snapshot with a name in its own script; Creating and Current are localized', async () => {
    await page.getByLabel(t('snapshots:create.name')).fill(walk.snapshot);
    await page.getByLabel(t('snapshots:create.description')).fill(walk.description);
    await page.getByLabel(t('snapshots:create.include_memory')).check();
    await page.getByRole('button', { name: t('snapshots:create.submit') }).click();
    await page.waitForURL('**?flash=created');
    const row = snapshotRow(page, walk.snapshot);
    expect(await row.getByText(t('snapshots:status.creating'), { exact: true }).count()).toBe(1);
    await expectNoEnglish('the list while creating');
    await waitForStatus(row, t('snapshots:status.active'));
    await expectNoEnglish('the list with a snapshot (dates, sizes, memory)');
    await screenshot(page, `${walk.lang}-list`);
  });

  it('keeps a refused form in the language too (a blank name)', async () => {
    await page.getByLabel(t('snapshots:create.name')).fill('   ');
    await page.getByRole('button', { name: t('snapshots:create.submit') }).click();
    await page.getByRole('alert').waitFor();
    await expectNoEnglish('the refused create form');
  });

  it('edits, and shows the restore and delete confirmations (dialogs) without English', async () => {
    await snapshotRow(page, walk.snapshot).getByRole('link', { name: t('snapshots:action.edit') }).click();
    const edit = page.getByRole('dialog', { name: t('snapshots:edit.title') });
    await edit.waitFor();
    await expectNoEnglish('the edit dialog');
    await edit.getByLabel(t('snapshots:create.name')).fill(walk.renamed);
    await edit.getByRole('button', { name: t('common:save') }).click();
    await page.waitForURL('**?flash=edited');
    await expectNoEnglish('the list after editing', [walk.renamed]);

    await snapshotRow(page, walk.renamed).getByRole('link', { name: t('snapshots:action.restore') }).click();
    const restore = page.getByRole('dialog', { name: t('snapshots:restore.title') });
    await restore.waitFor();
    await expectNoEnglish('the restore dialog');
    await restore.getByLabel(t('snapshots:restore.type_service', { service: walk.service.name })).fill('nope');
    await restore.getByRole('button', { name: t('snapshots:action.restore') }).click();
    // Refused by the server: the restore page itself, with the reason.
    await page.getByRole('alert').waitFor();
    await page.getByRole('heading', { level: 1, name: t('snapshots:restore.title') }).waitFor();
    await expectNoEnglish('the refused restore', ['nope']);

    await page.getByRole('link', { name: t('common:cancel') }).click();
    await snapshotRow(page, walk.renamed).getByRole('link', { name: t('snapshots:action.delete') }).click();
    const del = page.getByRole('dialog', { name: t('snapshots:delete.title') });
    await del.waitFor();
    await expectNoEnglish('the delete dialog');
    await del.getByLabel(t('snapshots:delete.confirm')).check();
    await del.getByRole('button', { name: t('snapshots:action.delete') }).click();
    await page.waitForURL('**?flash=delete_scheduled');
    await expectNoEnglish('the list with a snapshot scheduled for removal');
    await snapshotRow(page, walk.renamed).waitFor({ state: 'detached', timeout: 30_000 });
  });

  it('shows the panel\'s not-found page in the language', async () => {
    const res = await page.goto('/services/vps-999');
    expect(res?.status()).toBe(404);
    await expectNoEnglish('the not-found page');
    const moduleMissing = await page.goto('/services/vps-101/snapshots');
    expect(moduleMissing?.status()).toBe(404);
    expect(await page.getByText(t('errors:service_not_found')).count()).toBe(1);
    // The stable error code for support ("오류 코드: service_not_found") is an identifier, not prose.
    await expectNoEnglish('the module\'s not-found page for another customer\'s service', ['service_not_found']);
  });
});
