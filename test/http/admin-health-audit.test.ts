import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import supertest from 'supertest';
import type { ActionContext } from '../../module/index.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { AuditRepo } from '../../module/db/audit-repo.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { appFor, sessionFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const A = '/admin/snapshots';
const SVC1 = makeService();
const SVC2 = makeService({ id: 'svc-2', name: 'bob-db', ownerId: 'bob', target: { driver: 'simulated', node: 'node1', vmId: '102' } });
const ALICE: ActionContext = { actor: { type: 'customer', id: 'alice' } };

const count = (html: string, name: string) => Number(new RegExp(`data-count="${name}">(\\d+)<`).exec(html)?.[1]);

describe.each(DATABASES)('admin scheduler health and audit log ($kind)', (kind) => {
  const handle = useDatabase(kind);

  it('shows the queue from the database when this process runs no scheduler', async () => {
    const fx = await handle.module({ services: [SVC1, SVC2] });
    await fx.mod.snapshots.create(SVC1, { name: 'one' }, ALICE);
    await fx.mod.snapshots.create(SVC1, { name: 'two' }, ALICE);
    await handle.db('snapshot_operations').update({ run_after: new Date(Date.now() - 5 * 60_000) });
    const res = await supertest(appFor(fx.mod)).get(`${A}/health`).set('x-test-actor', 'admin');
    expect(res.status).toBe(200);
    expect(res.text).toContain('The scheduler is not running in this process.');
    expect(count(res.text, 'queued')).toBe(2);
    expect(count(res.text, 'running')).toBe(0);
    expect(res.text).toMatch(/[5-6] min ago/);
    expect(res.text).toContain('No jobs are stored yet.');
    const ja = await supertest(appFor(fx.mod)).get(`${A}/health`).set('x-test-actor', 'reseller');
    expect(ja.status).toBe(403);
  });

  it('shows jobs, next runs and operation counts of a started scheduler', async () => {
    const driver = new SimulatedDriver({});
    const fx = await handle.module({ driver, services: [SVC1, SVC2], config: { scheduler: { processEveryMs: 100, reconcileEveryMs: 3_600_000 } } });
    await fx.mod.start();
    const schedule = await fx.mod.schedules.create(SVC1, { name: 'Weekly', days: [1], hour: 3, minute: 0, timezone: 'Asia/Seoul', keep: 1 }, ALICE);
    driver.injectFailure({ operation: 'create', code: 'rejected', vmId: '102' });
    const failed = await fx.mod.snapshots.create(SVC2, { name: 'will fail' }, { actor: { type: 'customer', id: 'bob' } });
    const ok = await fx.mod.snapshots.create(SVC1, { name: 'fine' }, ALICE);
    await waitFor(async () => (await handle.db('snapshot_operations').whereIn('snapshot_id', [failed.id, ok.id]).whereIn('status', ['failed', 'succeeded'])).length === 2, 5000, 'operations done');

    const res = await supertest(appFor(fx.mod)).get(`${A}/health`).set('x-test-actor', 'admin');
    expect(res.status).toBe(200);
    expect(res.text).toContain('The scheduler runs in this process.');
    expect(count(res.text, 'failed')).toBe(1);
    expect(count(res.text, 'queued')).toBe(0);
    expect(res.text).toContain('Nothing is waiting.');
    const scheduleRow = /<tr data-job="snapshot-schedule">(.*?)<\/tr>/s.exec(res.text)?.[1] ?? '';
    expect(scheduleRow).toContain('Weekly snapshot schedules');
    expect(scheduleRow).toMatch(/data-state="total">1</);
    expect(scheduleRow).toMatch(/data-state="repeating">1</);
    expect(res.text).toContain('data-job="snapshot-reconcile"');
    // The schedule's next run, as Agenda stored it, is listed.
    const job = await handle.db('snapshot_jobs').where({ name: 'snapshot-schedule' }).first();
    const nextRunIso = new Date(Number.isFinite(Number(job.next_run_at)) ? Number(job.next_run_at) : job.next_run_at).toISOString();
    expect(res.text).toContain(`datetime="${nextRunIso}"`);
    // Named by the schedule and its service, not by ids.
    expect(schedule.id).toBeGreaterThan(0);
    expect(res.text).toContain('“Weekly” for web-01');
    expect(res.text).not.toContain('snapshot-operations-sweep<');
    expect(res.text).toMatch(/Jobs due now: \d+/);
  });

  it('filters the audit log by service, actor, action and date range, with pages', async () => {
    const fx = await handle.module({ services: [SVC1, SVC2] });
    await fx.mod.snapshots.create(SVC1, { name: 'a' }, ALICE);
    await fx.mod.snapshots.create(SVC2, { name: 'b' }, { actor: { type: 'customer', id: 'bob' } });
    const { agent, token } = await sessionFor(fx.mod, 'admin', `${A}/services?serviceId=svc-1`);
    await agent.post(`${A}/services/svc-1/overrides`).type('form').send({ _csrf: token, maxSnapshots: '9' });
    await agent.post(`${A}/limits/*`).type('form').send({ _csrf: token, maxSnapshots: '4', maxSchedules: '1', maxKeep: '2' });
    for (let i = 0; i < 5; i++) await fx.mod.snapshots.setPinned(SVC1, 1, i % 2 === 0, ALICE);

    const actions = async (q: string) => [...(await agent.get(`${A}/audit${q}`)).text.matchAll(/data-action="([^"]+)"/g)].map((m) => m[1]);
    expect(await actions('?serviceId=svc-2')).toEqual(['snapshot.create']);
    expect(await actions('?actorId=root')).toEqual(['admin.plan_limits_set', 'admin.overrides_set']);
    expect(await actions('?actorType=admin&serviceId=svc-1')).toEqual(['admin.overrides_set']);
    expect(await actions('?action=admin')).toEqual(['admin.plan_limits_set', 'admin.overrides_set']);
    expect(await actions('?action=snapshot.create')).toEqual(['snapshot.create', 'snapshot.create']);
    expect(await actions('?action=snap')).toEqual([]); // a prefix means whole segments
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000 + 3600_000).toISOString().slice(0, 10);
    const all = await handle.db('snapshot_audit_events').count({ n: '*' }).first();
    expect((await actions(`?from=${today}&to=${tomorrow}&size=100`))).toHaveLength(Number(all?.n));
    expect(await actions(`?from=${tomorrow}`)).toEqual([]);

    const first = await agent.get(`${A}/audit?size=5`);
    expect(first.text).toContain('rel="next"');
    expect(first.text).not.toContain('rel="prev"');
    expect(first.text).toContain('Customer (alice)');

    const bad = await agent.get(`${A}/audit?from=2026-02-30`).set('x-test-actor', 'adminKo');
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('올바른 날짜(YYYY-MM-DD)를 입력하세요.');
    const reversed = await agent.get(`${A}/audit?from=${tomorrow}&to=${today}`);
    expect(reversed.status).toBe(422);
  });
  it('the audit log names services, labels actions, sums up details in the admin language and keeps the raw data folded', async () => {
    const fx = await handle.module({ services: [SVC1, SVC2] });
    await fx.mod.snapshots.create(SVC1, { name: 'a' }, ALICE);
    const { agent, token } = await sessionFor(fx.mod, 'admin', `${A}/services?serviceId=svc-1`);
    await agent.post(`${A}/services/svc-1/overrides`).type('form').send({ _csrf: token, maxSnapshots: '9' });
    await agent.post(`${A}/limits/*`).type('form').send({ _csrf: token, maxSnapshots: '4', maxSchedules: '1', maxKeep: '2' });
    const audit = new AuditRepo(handle.db);
    await audit.record({ actor: { type: 'system' }, serviceId: null, action: 'driver.guest_moved', result: 'ok', details: { driver: 'proxmox', vmId: '101', guestType: 'qemu', from: 'pve1', to: 'pve2' } });
    await audit.record({ actor: { type: 'admin', id: 'root' }, serviceId: 'svc-gone', action: 'admin.overrides_cleared', result: 'ok', details: { before: { maxSnapshots: 3 }, after: {} } });

    const page = await agent.get(`${A}/audit`);
    expect(page.status).toBe(200);
    const row = (action: string) => new RegExp(`<tr data-audit="\\d+" data-action="${action.replace('.', '\\.')}">(.*?)</tr>`, 's').exec(page.text)?.[1] ?? '';
    const limits = row('admin.plan_limits_set');
    expect(limits).toContain('Plan limits set');
    expect(limits).toMatch(/Default limits: Max snapshots: (\d+|—) → 4; /);
    // The stored data is still there, folded away and wrapping instead of widening the table.
    expect(limits).toMatch(/<details class="snapshots-raw"><summary>Stored data<\/summary><pre>\{\n/);
    const overrides = row('admin.overrides_set');
    expect(overrides).toContain('Service overrides set');
    expect(overrides).toContain('Overrides: Max snapshots: — → 9');
    expect(overrides).toMatch(/<a href="[^"]+svc-1">web-01<\/a><br><span class="snapshots-muted">svc-1<\/span>/);
    expect(row('driver.guest_moved')).toContain('Guest 101 (proxmox) found on node pve2, not pve1');
    expect(row('driver.guest_moved')).toContain('Guest found on another node');
    expect(row('snapshot.create')).toContain('Snapshot requested');
    // A service the panel no longer knows keeps its id.
    expect(row('admin.overrides_cleared')).toMatch(/svc-gone">svc-gone<\/a>/);
    // Dates stay on one line.
    expect(page.text).toMatch(/<time class="snapshots-nowrap" datetime="/);
    expect(readFileSync(new URL('../../public/snapshots.css', import.meta.url), 'utf8')).toMatch(/\.snapshots-nowrap \{ white-space: nowrap; \}/);

    const ko = await agent.get(`${A}/audit?action=admin`).set('x-test-actor', 'adminKo');
    expect(ko.text).toContain('요금제 한도 설정');
    expect(ko.text).toMatch(/기본 한도: 최대 스냅샷 수: (\d+|—)에서 4\(으\)로; /);
  });

  it('counts scheduled runs of the last 24 hours and 7 days by outcome, with their services and how late they started', async () => {
    const fx = await handle.module({ services: [SVC1, SVC2] });
    const now = Date.now();
    const ago = (ms: number) => new Date(now - ms);
    const H = 3_600_000;
    const D = 24 * H;
    const event = (at: Date, action: string, result: string, serviceId: string, extra: { code?: string; details?: object; actor?: string } = {}) => ({
      occurred_at: at, actor_type: extra.actor ?? 'schedule', actor_id: '1', service_id: serviceId, action, result, code: extra.code ?? null,
      details: extra.details ? JSON.stringify(extra.details) : null,
    });
    const started = (at: Date, lateMs: number, serviceId: string) =>
      event(at, 'schedule.run', 'ok', serviceId, { details: { scheduleId: 1, name: 'Nightly', occurrence: new Date(at.getTime() - lateMs).toISOString() } });
    await handle.db('snapshot_audit_events').insert([
      started(ago(2 * H), 90_000, 'svc-1'), event(ago(2 * H), 'operation.create', 'ok', 'svc-1'),
      started(ago(3 * D), 600_000, 'svc-1'), event(ago(3 * D), 'operation.create', 'failed', 'svc-1', { code: 'driver_rejected' }),
      event(ago(5 * H), 'schedule.run', 'refused', 'svc-2', { code: 'snapshot_limit_reached' }),
      event(ago(2 * D), 'schedule.run', 'refused', 'svc-2', { code: 'missed' }),
      event(ago(1 * H), 'schedule.run', 'failed', 'svc-2', { code: 'internal_error' }),
      event(ago(6 * H), 'schedule.run', 'refused', 'svc-1', { code: 'paused' }),
      event(ago(9 * D), 'schedule.run', 'failed', 'svc-1', { code: 'internal_error' }), // older than a week
      event(ago(1 * H), 'operation.create', 'ok', 'svc-1', { actor: 'customer' }), // a person's snapshot, not a run
    ]);
    const res = await supertest(appFor(fx.mod)).get(`${A}/health`).set('x-test-actor', 'admin');
    expect(res.status).toBe(200);
    const cell = (w: string, o: string) => Number(new RegExp(`data-window="${w}" data-outcome="${o}"[^>]*>(\\d+)<`).exec(res.text)?.[1]);
    const counts = (w: string) => Object.fromEntries(['succeeded', 'skipped', 'failed', 'missed', 'not_run'].map((o) => [o, cell(w, o)]));
    expect(counts('day')).toEqual({ succeeded: 1, skipped: 1, failed: 1, missed: 0, not_run: 1 });
    expect(counts('week')).toEqual({ succeeded: 1, skipped: 1, failed: 2, missed: 1, not_run: 1 });
    const delay = [...res.text.matchAll(/data-delay>([^<]*)</g)].map((m) => m[1]);
    expect(delay).toEqual(['median 1 min, at most 1 min', 'median 1 min, at most 10 min']);
    // Services with problems, the most first, by name.
    const services = [...res.text.matchAll(/<tr data-service="([^"]+)"><th scope="row"><a href="[^"]+">([^<]+)<\/a>/g)].map((m) => [m[1], m[2]]);
    expect(services).toEqual([['svc-2', 'bob-db'], ['svc-1', 'web-01']]);

    const ko = await supertest(appFor(fx.mod)).get(`${A}/health`).set('x-test-actor', 'adminKo');
    expect(ko.text).toContain('건너뜀(한도 도달)');
    expect(ko.text).toContain('중앙값 1분, 최대 10분');
  });

  it('a run records the occurrence it stands for, so its lateness is known', async () => {
    const fx = await handle.module({ services: [SVC1] });
    const schedule = await fx.mod.schedules.create(SVC1, { name: 'Weekly', days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 1 }, ALICE);
    const at = new Date(Date.now() - 120_000);
    await fx.mod.runSchedule(schedule.id, at);
    const row = await handle.db('snapshot_audit_events').where({ action: 'schedule.run' }).first();
    expect(JSON.parse(row.details)).toMatchObject({ scheduleId: schedule.id, name: 'Weekly', occurrence: at.toISOString() });
    const page = await supertest(appFor(fx.mod)).get(`${A}/audit?action=schedule.run`).set('x-test-actor', 'admin');
    expect(page.text).toMatch(/Schedule “Weekly”, due [^<]+, started 2 min late/);
  });

  it('refuses a reseller and a customer with a localized "not allowed" page, not a malfunction', async () => {
    const fx = await handle.module({ services: [SVC1] });
    const expectations: [string, string, string][] = [
      ['reseller', 'アクセス権限がありません', 'このページは管理者のみ開くことができます。'],
      ['alice', 'Not allowed', 'Only administrators can open this page.'],
      ['bob', '접근 권한 없음', '관리자만 이 페이지를 열 수 있습니다.'],
    ];
    for (const [actor, title, message] of expectations) {
      const res = await supertest(appFor(fx.mod)).get(A).set('x-test-actor', actor);
      expect(res.status).toBe(403);
      expect(res.text).toContain(`<h1 id="snapshots-error-title">${title}</h1>`);
      expect(res.text).toContain(message);
      expect(res.text).toContain('data-forbidden');
      expect(res.text).not.toMatch(/Something went wrong|問題が発生しました|문제가 발생했습니다/);
    }
  });
});
