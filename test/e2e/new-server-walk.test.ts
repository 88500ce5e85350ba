// A new server from a snapshot, in English, Korean and Japanese, through the demo panel as a customer
// would: Snapshots → New server (the module's review, in a dialog) → Continue → the panel's order page
// (too-small plans disabled, saying why) → plan, name, Confirm → the services list shows the new server
// and turns it to Ready by itself → the new server's Snapshots page says where its disk came from.
// Its own demo panel: the servers it orders would otherwise show up in the other walks' lists.
import { screenshot } from './helpers/screenshots.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { scrollsSideways, unnamedControls } from './helpers/accessibility.js';
import { launchChromium, type Chromium } from './helpers/chromium.js';
import { startDemoPanel, type DemoPanel } from './helpers/demo-server.js';
import { englishLeftovers } from './helpers/english-leftovers.js';
import { moduleText } from './helpers/locale-text.js';
import { loginAs, snapshotsPage, type Lang, type Session } from './helpers/session.js';
import { snapshotRow, waitForStatus } from './helpers/snapshot-list.js';
import { splitWordsAtWidths } from './helpers/word-breaks.js';

const demoUrl = inject('demoUrl');

// The demo's own words, written out here (not imported from the demo) so a wrong translation fails.
const PANEL_WORDS: Record<Lang, { title: string; nameLabel: string; confirm: string; tooSmall: string; pending: string[]; ready: string; from: string }> = {
  en: { title: 'New server from a snapshot', nameLabel: 'Name of the new server', confirm: 'Confirm order',
    tooSmall: 'Not available: the snapshot needs a disk of at least {disk}.', pending: ['Waiting', 'Being made'], ready: 'Ready',
    from: 'Disk from snapshot “{name}” of {source}' },
  ko: { title: '스냅샷으로 새 서버 만들기', nameLabel: '새 서버 이름', confirm: '주문 확정',
    tooSmall: '선택할 수 없음: 이 스냅샷에는 {disk} 이상의 디스크가 필요합니다.', pending: ['대기 중', '만드는 중'], ready: '준비됨',
    from: '{source} 서버의 스냅샷 “{name}”에서 만든 디스크' },
  ja: { title: 'スナップショットから新しいサーバーを作成', nameLabel: '新しいサーバーの名前', confirm: '注文を確定',
    tooSmall: '選択できません: このスナップショットには {disk} 以上のディスクが必要です。', pending: ['待機中', '作成中'], ready: '準備完了',
    from: '{source} のスナップショット「{name}」から作成したディスク' },
};

const WALKS: { lang: Lang; user: string; source: { id: string; name: string; disk: string }; snapshot: string; server: string; plan: string; tooSmall: string[] }[] = [
  { lang: 'en', user: 'alice', source: { id: 'vps-101', name: 'web-01', disk: '25 GiB' }, snapshot: 'before-move', server: 'web-02',
    plan: 'Business VPS', tooSmall: ['Mini VPS'] },
  { lang: 'ko', user: 'minji', source: { id: 'vps-201', name: 'minji-blog', disk: '25 GiB' }, snapshot: '이전 전', server: '블로그 사본',
    plan: 'Starter VPS', tooSmall: ['Mini VPS'] },
  { lang: 'ja', user: 'yuki', source: { id: 'vps-301', name: 'yuki-shop', disk: '80 GiB' }, snapshot: '移行前', server: 'ショップ複製',
    plan: 'Enterprise VPS', tooSmall: ['Mini VPS', 'Starter VPS'] },
];

const fill = (template: string, values: Record<string, string>) => template.replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m);

describe.skipIf(!demoUrl)('new server from a snapshot', () => {
  let demo: DemoPanel;
  let browser: Chromium;

  beforeAll(async () => {
    demo = await startDemoPanel({ delayScale: 0.3 });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  describe.each(WALKS)('in $lang ($user, $source.name)', (walk) => {
    const t = (key: string, values?: Record<string, string | number>) => moduleText(walk.lang, key, values);
    const words = PANEL_WORDS[walk.lang];
    let session: Session;
    let page: Page;
    let newId = '';
    const found: Record<string, string[]> = {};

    /** The page is in the walk's language: `lang`, a word of that language, and (ko, ja) no English left. */
    async function inLanguage(where: string, word: string, allow: string[] = []) {
      expect(await page.locator('html').getAttribute('lang'), where).toBe(walk.lang);
      expect(await page.getByText(word).count(), `${where}: "${word}"`).toBeGreaterThan(0);
      if (walk.lang === 'en') return;
      const left = await englishLeftovers(page, [walk.snapshot, walk.server, ...(newId ? [newId] : []), ...allow]);
      expect(left, `English left on ${where} (${page.url()})`).toEqual([]);
    }

    beforeAll(async () => {
      session = await loginAs(browser, demo.url, walk.user, { lang: walk.lang, goto: snapshotsPage(walk.source.id), context: { viewport: { width: 1280, height: 800 } } });
      page = session.page;
    });
    afterAll(async () => {
      await session?.close();
    });

    it('opens the review from a current snapshot\'s New server button', async () => {
      await page.getByLabel(t('snapshots:create.name')).fill(walk.snapshot);
      await page.getByRole('button', { name: t('snapshots:create.submit') }).click();
      await page.waitForURL('**?flash=created');
      const row = snapshotRow(page, walk.snapshot);
      await waitForStatus(row, t('snapshots:status.active'));
      await inLanguage('the Snapshots page', t('snapshots:action.new_server'));
      await row.getByRole('link', { name: t('snapshots:action.new_server') }).click();
      const review = page.getByRole('dialog', { name: t('snapshots:new_server.title') });
      await review.waitFor();
      await inLanguage('the review', t('snapshots:new_server.continue'));
      await splitWordsAtWidths(page, 'review dialog', found);
      await review.getByRole('button', { name: t('snapshots:new_server.continue') }).click();
      await page.waitForURL('**/orders/*');
    });

    it('shows the panel\'s order page: the snapshot, its server, too-small plans disabled and saying why', async () => {
      await page.getByRole('heading', { level: 1, name: words.title }).waitFor();
      await inLanguage('the order page', words.confirm);
      expect(await page.getByText(walk.snapshot, { exact: true }).count()).toBe(1);
      expect(await page.getByText(walk.source.name, { exact: true }).count()).toBe(1);
      for (const plan of walk.tooSmall) {
        const radio = page.getByRole('radio', { name: plan });
        expect(await radio.isDisabled(), plan).toBe(true);
        const why = page.locator(`#${await radio.getAttribute('aria-describedby')}`);
        expect((await why.textContent())?.trim()).toBe(fill(words.tooSmall, { disk: walk.source.disk }));
      }
      expect(await unnamedControls(page)).toEqual([]);
      await page.setViewportSize({ width: 390, height: 844 });
      expect(await scrollsSideways(page)).toBeNull();
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.getByRole('radio', { name: walk.plan }).check();
      await page.getByLabel(words.nameLabel).fill(walk.server);
      await screenshot(page, `${walk.lang}-order`);
    });

    it('confirms with a plan and a name; the services list shows the new server, then Ready by itself', async () => {
      await page.getByRole('radio', { name: walk.plan }).check();
      await page.getByLabel(words.nameLabel).fill(walk.server);
      await page.getByRole('button', { name: words.confirm }).click();
      await page.waitForURL('**/services?ordered=*');
      newId = new URL(page.url()).searchParams.get('ordered') ?? '';
      expect(newId).toMatch(/^vps-\d+$/);
      const cell = page.locator(`[data-made-from="${newId}"]`);
      expect(await page.locator(`tr[data-service="${newId}"]`).getByRole('link', { name: walk.server, exact: true }).count()).toBe(1);
      expect([...words.pending, words.ready]).toContain((await cell.locator('.badge').textContent())?.trim());
      await inLanguage('the services list', walk.server);
      // No reload here: the list's own script swaps the status in when the disk is made.
      await cell.getByText(words.ready, { exact: true }).waitFor({ timeout: 30_000 });
      expect(await cell.getByText(fill(words.from, { name: walk.snapshot, source: walk.source.name }), { exact: true }).count()).toBe(1);
      await inLanguage('the services list, ready', words.ready);
      await screenshot(page, `${walk.lang}-new-server`);
    });

    it('opens the new server\'s Snapshots page, where the banner says where its disk came from', async () => {
      await page.getByRole('link', { name: walk.server, exact: true }).click();
      await page.waitForURL(`**/services/${newId}`);
      await page.getByRole('link', { name: t('common:menu_label'), exact: true }).click();
      await page.waitForURL(`**${snapshotsPage(newId)}`);
      const banner = page.locator('[data-clone]');
      expect(await banner.getAttribute('data-clone')).toBe('succeeded');
      expect((await banner.textContent())?.trim()).toBe(t('snapshots:new_server.banner.succeeded', { name: walk.snapshot }));
      await inLanguage('the new server\'s Snapshots page', t('snapshots:empty'));
      await splitWordsAtWidths(page, 'new server\'s Snapshots page', found);
      expect(found).toEqual({});
    });
  });
});
