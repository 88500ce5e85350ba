import supertest from 'supertest';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuditRepo } from '../../module/db/audit-repo.js';
import { KNOWN_ACTIONS, RUN_REASONS } from '../../module/http/client/activity-presenter.js';
import { DATABASES } from '../helpers/databases.js';
import { appFor } from '../helpers/http-app.js';
import { waitFor } from '../helpers/wait-for.js';
import { escaped, message, useScheduleFixture } from './schedule-fixture.js';

const PAGE = '/services/svc-1/snapshots/activity';
const API = '/api/v1/services/svc-1/activity';
const ADMIN_ID = 'root-operator-kim';
const HOSTILE = '<script>alert("pwn")</script>';

describe.each(DATABASES)('Activity log ($kind)', (kind) => {
  const s = useScheduleFixture(kind);
  let audit: AuditRepo;
  beforeEach(async () => {
    audit = new AuditRepo(s.fx.db);
  });
  const get = (path: string, actor: string) => supertest(appFor(s.fx.mod)).get(path).set('x-test-actor', actor);

  /** A history with the customer's, an administrator's, the scheduler's and the billing system's doings. */
  async function history() {
    const api = supertest(appFor(s.fx.mod));
    expect((await api.post('/api/v1/services/svc-1/snapshots').set('x-test-actor', 'alice').send({ name: HOSTILE })).status).toBe(202);
    // The runner takes the snapshot and records that too; wait, so the order below is fixed.
    await waitFor(async () => (await audit.list({ serviceId: 'svc-1', action: 'operation.create' })).length === 1, 10_000, 'snapshot taken');
    expect((await api.post('/api/v1/services/svc-1/schedules').set('x-test-actor', 'alice')
      .send({ name: 'Nightly <b>', days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 2 })).status).toBe(201);
    await audit.record({ actor: { type: 'admin', id: ADMIN_ID }, ip: '203.0.113.77', serviceId: 'svc-1', snapshotName: 'admin-touched', action: 'snapshot.pin', result: 'ok' });
    await audit.record({ actor: { type: 'schedule', id: '1' }, serviceId: 'svc-1', action: 'schedule.run', result: 'refused', code: 'missed', details: { scheduleId: 1, name: 'Nightly <b>' } });
    await audit.record({ actor: { type: 'schedule', id: '1' }, serviceId: 'svc-1', action: 'schedule.run', result: 'refused', code: 'snapshot_limit_reached', details: { name: 'Nightly <b>' } });
    await audit.record({ actor: { type: 'billing' }, serviceId: 'svc-1', action: 'billing.plan_changed', result: 'ok', details: { planId: 'secret-plan', by: ADMIN_ID } });
    await audit.record({ actor: { type: 'admin', id: ADMIN_ID }, serviceId: 'svc-1', action: 'admin.something_new', result: 'failed', code: 'weird <code>' });
    // Another service's event never shows.
    await audit.record({ actor: { type: 'customer', id: 'bob' }, serviceId: 'svc-2', snapshotName: 'bobs-secret', action: 'snapshot.create', result: 'ok' });
  }

  it('shows the service\'s events newest first, with who as "you", "administrator", "scheduler", never an admin\'s identity', async () => {
    await history();
    const res = await get(PAGE, 'alice');
    expect(res.status).toBe(200);
    const text = res.text;
    expect(text).toMatch(/aria-current="page">Activity log</);
    expect([...text.matchAll(/data-action="([^"]+)"/g)].map((m) => m[1])).toEqual([
      'admin.something_new', 'billing.plan_changed', 'schedule.run', 'schedule.run', 'snapshot.pin', 'schedule.create', 'operation.create', 'snapshot.create',
    ]);
    for (const label of ['Other activity', 'Plan changed', 'Scheduled run', 'Snapshot pinned', 'Schedule created', 'Snapshot created', 'Snapshot requested']) {
      expect(text).toContain(label);
    }
    expect(text).toContain('>You<');
    expect(text).toContain('>Administrator<');
    expect(text).toContain('>Scheduler<');
    expect(text).toContain('>Billing system<');
    expect(text).toContain('The panel was offline at the scheduled time.');
    expect(text).toContain('Snapshot limit reached.');
    expect(text).toContain('No further details.');
    for (const secret of [ADMIN_ID, '203.0.113.77', 'secret-plan', 'bobs-secret', 'weird <code>', '127.0.0.1']) expect(text).not.toContain(secret);
    expect(text).not.toContain(HOSTILE);
    expect(text).toContain(escaped(`Snapshot: ${HOSTILE}`));
    expect(text).toContain(escaped('Schedule: Nightly <b>'));
    expect(text).not.toContain('Nightly <b>');
  });

  it('speaks the viewer\'s language, and to a reseller the customer is "Customer", not "You"', async () => {
    await history();
    const ko = await get('/services/svc-2/snapshots/activity', 'bob');
    expect(ko.text).toContain('활동 기록');
    expect(ko.text).toContain(`>${message('ko', 'activity', 'actor.you')}<`);
    expect(ko.text).not.toContain('bobs-secret'.toUpperCase());
    expect(ko.text).toContain(escaped(message('ko', 'activity', 'subject.snapshot', { name: 'bobs-secret' })));
    await audit.record({ actor: { type: 'customer', id: 'bob' }, serviceId: 'svc-3', snapshotName: 'resold-one', action: 'snapshot.create', result: 'ok' });
    const rex = await get('/services/svc-3/snapshots/activity', 'reseller');
    expect(rex.status).toBe(200);
    expect(rex.text).toContain(`>${message('ja', 'activity', 'actor.customer')}<`);
    expect(rex.text).not.toContain(`>${message('ja', 'activity', 'actor.you')}<`);
    expect((await get(PAGE, 'reseller')).status).toBe(404);
    expect((await get(PAGE, 'bob')).status).toBe(404);
  });

  it('pages through a long log with older/newest links; a bad cursor is a localized 422', async () => {
    for (let i = 1; i <= 30; i++) {
      await audit.record({ actor: { type: 'customer', id: 'alice' }, serviceId: 'svc-1', snapshotName: `snap-${i}`, action: 'snapshot.pin', result: 'ok' });
    }
    const first = await get(PAGE, 'alice');
    const names = (html: string) => [...html.matchAll(/Snapshot: (snap-\d+)</g)].map((m) => m[1]);
    expect(names(first.text)).toEqual(Array.from({ length: 25 }, (_, i) => `snap-${30 - i}`));
    const older = /href="([^"]+\?before=\d+)" rel="next"/.exec(first.text)![1]!;
    expect(first.text).not.toContain('Newest entries');
    const second = await get(older, 'alice');
    expect(names(second.text)).toEqual(['snap-5', 'snap-4', 'snap-3', 'snap-2', 'snap-1']);
    expect(second.text).not.toContain('rel="next"');
    expect(second.text).toContain(`href="${PAGE}"`);
    expect(second.text).toContain('Newest entries');
    const bad = await get(`${PAGE}?before=1;DROP`, 'alice');
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('Please correct the highlighted fields.');
  });

  it('serves the log as JSON with roles instead of identities, and pages with olderBefore', async () => {
    await history();
    const res = await get(`${API}?limit=3`, 'alice');
    expect(res.status).toBe(200);
    expect(res.body.events.map((e: { action: string }) => e.action)).toEqual(['admin.something_new', 'billing.plan_changed', 'schedule.run']);
    expect(res.body.events[0]).toMatchObject({ actor: 'admin', actorLabel: 'Administrator', result: 'failed', actionLabel: 'Other activity' });
    const json = JSON.stringify(res.body);
    for (const secret of [ADMIN_ID, '203.0.113.77', 'secret-plan', 'bobs-secret']) expect(json).not.toContain(secret);
    const rest = await get(`${API}?before=${res.body.olderBefore}`, 'alice');
    expect(rest.body.events.map((e: { action: string }) => e.action)).toEqual(['schedule.run', 'snapshot.pin', 'schedule.create', 'operation.create', 'snapshot.create']);
    expect(rest.body.events.at(-1)).toMatchObject({ actor: 'you', subject: `Snapshot: ${HOSTILE}` });
    expect(rest.body.olderBefore).toBeNull();
    for (const bad of ['limit=0', 'limit=101', 'limit=x', 'before=-1']) {
      const r = await get(`${API}?${bad}`, 'alice');
      expect(r.status, bad).toBe(422);
      expect(r.body.error.code).toBe('validation_failed');
    }
  });

  it('every action and skipped-run reason the module records has a label in every language', () => {
    for (const lng of ['en', 'ko', 'ja']) {
      for (const a of KNOWN_ACTIONS) expect(message(lng, 'activity', `action.${a.replace('.', '_')}`), a).not.toBe('undefined');
      for (const r of RUN_REASONS) expect(message(lng, 'activity', `reason.${r}`), r).not.toBe('undefined');
    }
  });
});
