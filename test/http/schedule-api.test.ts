import supertest from 'supertest';
import { beforeEach, describe, expect, it } from 'vitest';
import { scheduleApiSchemas } from '../../module/http/api/schedule-routes.js';
import { DATABASES } from '../helpers/databases.js';
import { appFor } from '../helpers/http-app.js';
import { message, useScheduleFixture } from './schedule-fixture.js';

const API = '/api/v1/services/svc-1/schedules';
const NEW = { name: 'Nightly', days: [1, 3], hour: 3, minute: 15, timezone: 'Asia/Seoul', keep: 3 };

describe.each(DATABASES)('schedules JSON API ($kind)', (kind) => {
  const s = useScheduleFixture(kind);
  let api: ReturnType<typeof supertest>;
  beforeEach(async () => {
    api = supertest(appFor(s.fx.mod));
  });
  const as = (actor: string) => ({
    get: (path: string) => api.get(path).set('x-test-actor', actor),
    post: (path: string, body: object) => api.post(path).set('x-test-actor', actor).send(body),
    patch: (path: string, body: object) => api.patch(path).set('x-test-actor', actor).send(body),
    delete: (path: string) => api.delete(path).set('x-test-actor', actor),
  });

  it('creates, reads, changes, disables, enables and deletes a schedule', async () => {
    const alice = as('alice');
    const created = await alice.post(API, { ...NEW, includeMemory: true });
    expect(created.status).toBe(201);
    const id = created.body.schedule.id;
    expect(created.body.schedule).toMatchObject({ ...NEW, enabled: true, includeMemory: true, lastRunAt: null, lastResult: null });
    expect(created.body.schedule.nextRunAt).toBe((await s.nextRunOf(id))!.toISOString());

    const list = await alice.get(API);
    expect(list.body).toMatchObject({ used: 1, limits: { maxSchedules: 2, maxKeep: 5, schedulesAllowed: true } });
    expect(list.body.schedules.map((x: { id: number }) => x.id)).toEqual([id]);
    expect((await alice.get(`${API}/${id}`)).body.schedule.name).toBe('Nightly');

    // A partial change keeps the other fields and moves the next run.
    const moved = await alice.patch(`${API}/${id}`, { hour: 22, minute: 0, days: [6] });
    expect(moved.status).toBe(200);
    expect(moved.body.schedule).toMatchObject({ name: 'Nightly', hour: 22, minute: 0, days: [6], keep: 3, timezone: 'Asia/Seoul', includeMemory: true });
    expect(moved.body.schedule.nextRunAt).toBe((await s.nextRunOf(id))!.toISOString());
    expect(moved.body.schedule.nextRunAt).not.toBe(created.body.schedule.nextRunAt);

    const off = await alice.patch(`${API}/${id}`, { enabled: false });
    expect(off.body.schedule).toMatchObject({ enabled: false, nextRunAt: null });
    expect(await s.jobs()).toHaveLength(0);
    const on = await alice.patch(`${API}/${id}`, { enabled: true });
    expect(on.body.schedule.enabled).toBe(true);
    expect(on.body.schedule.nextRunAt).not.toBeNull();

    expect((await alice.delete(`${API}/${id}`)).status).toBe(204);
    expect(await s.schedules()).toHaveLength(0);
    expect(await s.jobs()).toHaveLength(0);
    const gone = await alice.get(`${API}/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('schedule_not_found');
    expect((await alice.delete(`${API}/${id}`)).status).toBe(404);
    expect((await alice.get(`${API}/abc`)).status).toBe(404);
  });

  it('answers invalid input with the domain\'s field codes and localized messages, never a 500', async () => {
    const alice = as('alice');
    const cases: [object, string, string][] = [
      [{ days: [] }, 'days', 'schedule_days_required'],
      [{ days: [7] }, 'days', 'schedule_days_invalid'],
      [{ days: 'mon' }, 'days', 'schedule_days_invalid'],
      [{ hour: 24 }, 'hour', 'schedule_hour_invalid'],
      [{ hour: '3' }, 'hour', 'schedule_hour_invalid'],
      [{ minute: 1.5 }, 'minute', 'schedule_minute_invalid'],
      [{ timezone: 'Mars/Olympus_Mons' }, 'timezone', 'schedule_timezone_invalid'],
      [{ timezone: 42 }, 'timezone', 'schedule_timezone_invalid'],
      [{ keep: 0 }, 'keep', 'schedule_keep_invalid'],
      [{ keep: 6 }, 'keep', 'schedule_keep_over_plan'],
      [{ keep: 'many' }, 'keep', 'field_invalid'],
      [{ name: 'n'.repeat(10_240) }, 'name', 'name_too_long'],
      [{ name: '' }, 'name', 'name_required'],
      [{ includeMemory: 'yes' }, 'includeMemory', 'field_invalid'],
    ];
    for (const [over, field, code] of cases) {
      const res = await alice.post(API, { ...NEW, ...over });
      expect(res.status, JSON.stringify(over).slice(0, 60)).toBe(422);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.fields[field].code, JSON.stringify(over).slice(0, 60)).toBe(code);
      expect(res.body.error.fields[field].message).not.toMatch(/\{\{|errors:/);
    }
    const ko = await as('bob').post('/api/v1/services/svc-2/schedules', { ...NEW, keep: 9 });
    expect(ko.body.error.fields.keep.message).toBe(message('ko', 'errors', 'schedule_keep_over_plan', { max: 5 }));
    const form = await api.post(API).set('x-test-actor', 'alice').type('form').send({ name: 'x' });
    expect(form.status).toBe(415);
    const broken = await api.post(API).set('x-test-actor', 'alice').set('content-type', 'application/json').send('{"name":');
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('invalid_json');
    // A bad patch changes nothing.
    const id = (await alice.post(API, NEW)).body.schedule.id;
    expect((await alice.patch(`${API}/${id}`, { hour: 99, name: 'changed' })).status).toBe(422);
    expect(await s.schedules()).toMatchObject([{ name: 'Nightly', hour: 3 }]);
    expect(await s.schedules()).toHaveLength(1);
  });

  it('applies the plan: schedules allowed, how many, and re-enabling after a downgrade', async () => {
    const alice = as('alice');
    const tiny = await alice.post('/api/v1/services/svc-4/schedules', { ...NEW, keep: 1 });
    expect(tiny.status).toBe(409);
    expect(tiny.body.error).toMatchObject({ code: 'schedules_not_in_plan', message: 'Your plan does not include snapshot schedules.' });
    const a = (await alice.post(API, { ...NEW, name: 'a' })).body.schedule.id;
    expect((await alice.post(API, { ...NEW, name: 'b', enabled: false })).status).toBe(201);
    const third = await alice.post(API, { ...NEW, name: 'c' });
    expect(third.status).toBe(409);
    expect(third.body.error).toMatchObject({ code: 'schedule_limit_reached', message: 'Your plan allows at most 2 schedules for this service.' });
    // The plan shrinks to one schedule: 'b' may not be switched on next to 'a', by toggle or by edit.
    await s.fx.db('snapshot_plan_limits').where({ plan_id: 'basic' }).update({ max_schedules: 1 });
    const b = (await s.schedules()).find((r) => r.name === 'b').id;
    expect((await alice.patch(`${API}/${b}`, { enabled: true })).body.error.code).toBe('schedule_limit_reached');
    expect((await alice.patch(`${API}/${b}`, { enabled: true, hour: 5 })).body.error.code).toBe('schedule_limit_reached');
    expect((await alice.patch(`${API}/${a}`, { enabled: false })).status).toBe(200);
    expect((await alice.patch(`${API}/${b}`, { enabled: true })).status).toBe(200);
    // Schedules dropped from the plan altogether.
    await s.fx.db('snapshot_plan_limits').where({ plan_id: 'basic' }).update({ schedules_allowed: false });
    expect((await alice.patch(`${API}/${a}`, { enabled: true, name: 'again' })).body.error.code).toBe('schedules_not_in_plan');
    expect((await s.schedules()).find((r) => r.id === a)).toMatchObject({ enabled: 0, name: 'a' });
  });

  it('hides other customers\' services and schedules; resellers reach their customers\'', async () => {
    const id = (await as('alice').post(API, NEW)).body.schedule.id;
    const bob = as('bob');
    for (const res of [
      await bob.get(API), await bob.post(API, NEW), await bob.get(`${API}/${id}`), await bob.patch(`${API}/${id}`, { hour: 1 }),
      await bob.delete(`${API}/${id}`), await bob.get('/api/v1/services/svc-1/activity'),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('service_not_found');
    }
    // Alice's schedule id through bob's own service: not found.
    expect((await bob.get(`/api/v1/services/svc-2/schedules/${id}`)).body.error.code).toBe('schedule_not_found');
    expect((await bob.delete(`/api/v1/services/svc-2/schedules/${id}`)).status).toBe(404);
    expect(await s.schedules()).toHaveLength(1);
    expect((await api.get(API)).status).toBe(401);

    const rex = as('reseller');
    expect((await rex.post('/api/v1/services/svc-3/schedules', NEW)).status).toBe(201);
    expect((await rex.get('/api/v1/services/svc-3/schedules')).body.schedules).toHaveLength(1);
    expect((await rex.get(API)).status).toBe(404);
    // An admin may see and change any.
    expect((await as('admin').patch(`${API}/${id}`, { keep: 5 })).body.schedule.keep).toBe(5);
  });

  it('refuses changes on a suspended service but still lists its schedules', async () => {
    const id = (await as('alice').post(API, NEW)).body.schedule.id;
    s.fx.services.set('svc-1', { ...s.fx.services.get('svc-1')!, status: 'suspended' });
    expect((await as('alice').get(API)).body.schedules).toHaveLength(1);
    const res = await as('alice').patch(`${API}/${id}`, { enabled: false });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('service_suspended');
    expect((await as('alice').delete(`${API}/${id}`)).status).toBe(409);
    expect(await s.schedules()).toHaveLength(1);
  });

  it('exports its request schemas for the OpenAPI document', () => {
    expect(scheduleApiSchemas.create.safeParse(NEW).success).toBe(true);
    expect(scheduleApiSchemas.update.safeParse({ hour: 4 }).success).toBe(true);
    expect(scheduleApiSchemas.create.safeParse({ ...NEW, hour: 24 }).success).toBe(false);
  });
});
