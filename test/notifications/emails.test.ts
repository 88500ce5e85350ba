import { existsSync } from 'node:fs';
import type { i18n } from 'i18next';
import supertest from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { NOTIFICATION_TYPES } from '../../module/domain/deps.js';
import { createI18n } from '../../module/i18n/i18n.js';
import { EmailRenderer } from '../../module/notifications/email-renderer.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { appFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const PARAMS: Record<string, string | number> = {
  service: 'web-01', name: '주간 백업', code: 'driver_timeout', schedules: 2, over: 1, count: 3, used: 3, limit: 3,
};
const LEFTOVERS = /undefined|null|NaN|\{\{|\}\}|notifications:|errors:|\blabels\.|\.subject\b|\.body\b|\.hint\b|<%|%>/;
const HANGUL = /[가-힣]/;
const KANA = /[ぁ-んァ-ン]/;
// English words of the templates' labels and sentences that must not leak into ko/ja mail.
const ENGLISH = /\b(Hello|Server|Snapshot|Schedule|Reason|snapshots?|limit|plan|deleted|created|failed)\b/;

let i18nInstance: i18n;
let emails: EmailRenderer;
beforeAll(async () => {
  i18nInstance = await createI18n('en');
  emails = new EmailRenderer(i18nInstance);
});

describe('email templates', () => {
  it('exist for every notification event', () => {
    for (const type of NOTIFICATION_TYPES) expect(existsSync(new URL(`../../views/emails/${type}.ejs`, import.meta.url)), type).toBe(true);
  });

  for (const lng of ['en', 'ko', 'ja'] as const) {
    it(`render every event in ${lng}, text and HTML, with nothing left over`, async () => {
      for (const type of NOTIFICATION_TYPES) {
        const mail = await emails.render(type, lng, PARAMS);
        for (const [part, value] of Object.entries(mail)) {
          expect(value.trim(), `${lng} ${type} ${part}`).not.toBe('');
          expect(value, `${lng} ${type} ${part}`).not.toMatch(LEFTOVERS);
        }
        expect(mail.text, `${lng} ${type}`).toContain('web-01');
        expect(mail.html).toMatch(new RegExp(`^<!doctype html>\\s*<html lang="${lng}">`));
        expect(mail.html).toContain(`<title>${mail.subject.replace(/"/g, '&#34;')}</title>`);
        if (lng !== 'en') {
          expect(mail.subject + mail.text, `${lng} ${type}`).toMatch(lng === 'ko' ? HANGUL : KANA);
          expect(mail.text.replace(/web-01|주간 백업/g, ''), `${lng} ${type} has English`).not.toMatch(ENGLISH);
        }
      }
    });
  }

  it('say the real thing in each language', async () => {
    const en = await emails.render('snapshot_failed', 'en', PARAMS);
    expect(en.subject).toBe('Snapshot "주간 백업" could not be created');
    expect(en.text).toBe([
      'Hello,', '',
      'Creating the snapshot "주간 백업" of web-01 failed. No storage is used by it; you can dismiss it and try again.', '',
      'Server: web-01', 'Snapshot: 주간 백업', 'Reason: The hypervisor did not finish in time.', '',
      '--', 'This message was sent by the Snapshots feature of your hosting control panel. You receive it because you own this service.',
    ].join('\n'));
    const ko = await emails.render('snapshot_created', 'ko', PARAMS);
    expect(ko.subject).toBe('web-01의 "주간 백업" 스냅샷이 생성되었습니다');
    expect(ko.text).toContain('안녕하세요.');
    expect(ko.text).toContain('서버: web-01');
    expect(ko.text).toContain('스냅샷 페이지에서 언제든지 서버를 이 상태로 복원할 수 있습니다.');
    const ja = await emails.render('restore_failed', 'ja', PARAMS);
    expect(ja.subject).toBe('web-01 の復元に失敗しました');
    expect(ja.text).toContain(`理由: ${i18nInstance.getFixedT('ja')('errors:driver_timeout')}`);
    expect(ja.html).toContain('<th style="text-align:left;padding:2px 12px 2px 0;font-weight:600">サーバー</th><td style="padding:2px 0">web-01</td>');
    const limit = await emails.render('limit_reached', 'ko', PARAMS);
    expect(limit.text).toContain('사용 중인 스냅샷: 3개 중 3개');
  });

  it('show the over-limit advice only when the service is over, and a generic reason for unknown codes', async () => {
    const over = await emails.render('plan_clamped', 'en', { service: 'web-01', schedules: 1, over: 2 });
    expect(over.text).toContain('New snapshots can be created again once 2 snapshots have been deleted.');
    const fits = await emails.render('plan_clamped', 'en', { service: 'web-01', schedules: 1, over: 0 });
    expect(fits.text).not.toContain('New snapshots can be created again');
    const odd = await emails.render('delete_failed', 'ja', { service: 'web-01', name: 'a', code: 'no_such_code' });
    expect(odd.text).toContain('理由: 詳細な情報はありません。');
    const none = await emails.render('schedule_failed', 'en', { service: 'web-01', name: 'Nightly' });
    expect(none.text).toContain('Reason: No further details are available.');
  });

  it('escape names in HTML and keep them as typed in text', async () => {
    const mail = await emails.render('snapshot_deleted', 'en', { service: '<b>web</b>', name: 'a & "b"' });
    expect(mail.html).not.toContain('<b>web</b>');
    expect(mail.html).toContain('&#60;b&#62;web&#60;/b&#62;');
    expect(mail.html).toContain('a &#38; &#34;b&#34;');
    expect(mail.text).toContain('<b>web</b>');
    expect(mail.text).toContain('a & "b"');
  });
});

describe.each(DATABASES)('notifications through panel.notify ($kind)', (kind) => {
  const handle = useDatabase(kind);

  it("go in the owner's language once seen, else the default; subject, text and HTML", async () => {
    const services = [makeService(), makeService({ id: 'svc-ko', name: 'bob-box', ownerId: 'bob' })];
    const fx = await handle.module({ services });
    const ctx = { actor: { type: 'admin' as const, id: 'root' } };
    const grow = { newPlanId: 'big', newDiskBytes: 100 * 1024 ** 3 };
    for (const s of services) await fx.mod.snapshots.create(s, { name: '첫 스냅샷' }, ctx);

    // bob has not used the panel since the module started: English, the default.
    await fx.mod.hooks.beforePlanChange('svc-ko', grow);
    // bob opens a page; from now on his mail is Korean.
    await supertest(appFor(fx.mod)).get('/services/svc-ko/snapshots').set('x-test-actor', 'bob');
    await fx.mod.hooks.beforePlanChange('svc-ko', { ...grow, newDiskBytes: 200 * 1024 ** 3 });

    const [before, after] = fx.notifications;
    expect(before).toMatchObject({ type: 'storage_expansion_refused', recipientId: 'bob', locale: 'en', subject: 'Storage of bob-box cannot be expanded yet' });
    expect(after).toMatchObject({ type: 'storage_expansion_refused', recipientId: 'bob', locale: 'ko', subject: 'bob-box의 스토리지를 아직 확장할 수 없습니다' });
    expect(after!.body).toContain('스냅샷 수: 1');
    expect(after!.html).toContain('<html lang="ko">');
    expect(after!.params).toEqual({ count: 1, service: 'bob-box' });
  });

  it("knows the owner's language in every process: one that never served them a page, started later, writes in it", async () => {
    const services = [makeService({ id: 'svc-ko', name: 'bob-box', ownerId: 'bob' })];
    const web = await handle.module({ services });
    // bob opens a page in the web process.
    await supertest(appFor(web.mod)).get('/services/svc-ko/snapshots').set('x-test-actor', 'bob');
    await web.mod.stop();
    // A worker process, started afresh, sends his mail.
    const worker = await handle.module({ services });
    await worker.mod.hooks.beforePlanChange('svc-ko', { newPlanId: 'big', newDiskBytes: 100 * 1024 ** 3 });
    await worker.mod.snapshots.create(services[0]!, { name: 'one' }, { actor: { type: 'admin', id: 'root' } });
    await worker.mod.hooks.beforePlanChange('svc-ko', { newPlanId: 'big', newDiskBytes: 100 * 1024 ** 3 });
    expect(worker.notifications.map((n) => [n.recipientId, n.locale])).toContainEqual(['bob', 'ko']);
    expect(worker.notifications.every((n) => n.locale === 'ko')).toBe(true);
  });

  // Taken by an administrator: the owner's own are not mailed (mail-policy.test.ts).
  it('a manual snapshot that uses the last place tells the owner the limit is reached, once', async () => {
    const fx = await handle.module();
    const ctx = { actor: { type: 'admin' as const, id: 'root' } };
    const service = makeService();
    await fx.mod.start();
    for (const name of ['a', 'b', 'c']) await fx.mod.snapshots.create(service, { name }, ctx); // default limit: 3
    await waitFor(() => fx.notifications.filter((n) => n.type === 'snapshot_created').length === 3, 5_000, 'three created');
    await waitFor(() => fx.notifications.some((n) => n.type === 'limit_reached'), 2_000, 'limit mail');
    const limit = fx.notifications.filter((n) => n.type === 'limit_reached');
    expect(limit).toHaveLength(1);
    expect(limit[0]).toMatchObject({ params: { used: 3, limit: 3 }, subject: 'Snapshot limit reached on web-01' });
    expect(limit[0]!.body).toContain('Snapshots in use: 3 of 3');
  });
});
