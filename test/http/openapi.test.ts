import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { snapshotApiDocument } from '../../module/index.js';
import { OPENAPI_PATH } from '../../module/http/api/openapi.js';
import { snapshotRoutes } from '../../module/http/api/routes.js';
import { scheduleRoutes } from '../../module/http/api/schedule-routes.js';
import { WEBHOOK_PATH, webhookRoute } from '../../module/http/webhook/routes.js';
import { DATABASES } from '../helpers/databases.js';
import { useModule } from '../helpers/db-suite.js';
import { appFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';
import { expectDocumented, registeredRoutes, routeKey } from '../helpers/routes.js';
import { waitFor } from '../helpers/wait-for.js';

const API = '/api/v1/services/svc-1/snapshots';
const SCHEDULES = '/api/v1/services/svc-1/schedules';
const ACTIVITY = '/api/v1/services/svc-1/activity';
const SECRET = 'openapi-test-webhook-secret-0123456789';

describe('openapi.json', () => {
  it('the committed docs/openapi.json is what `npm run openapi` generates now', () => {
    const committed = readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8');
    // On failure: run `npm run openapi` and commit docs/openapi.json.
    expect(committed).toBe(`${JSON.stringify(snapshotApiDocument(), null, 2)}\n`);
  });

  it('is OpenAPI 3.1 whose every $ref resolves and every operation documents its errors', () => {
    const doc = snapshotApiDocument();
    expect(doc.openapi).toBe('3.1.0');
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) expect(doc.components.schemas, ref).toHaveProperty(ref);
    const ops = Object.values(doc.paths).flatMap((p) => Object.values(p)) as { operationId: string; responses: Record<string, unknown>; security: unknown[] }[];
    expect(new Set(ops.map((o) => o.operationId)).size).toBe(ops.length);
    for (const op of ops) {
      expect(Object.keys(op.responses), op.operationId).toEqual(expect.arrayContaining(['401', '404', '500']));
      // The webhook is signed instead of run in a panel session.
      expect(op.security).toEqual(op.operationId === webhookRoute.operationId ? [] : [{ panelSession: [] }]);
    }
    expect(doc.tags.map((t) => t.name)).toEqual(['Snapshots', 'Schedules', 'Activity', 'New servers', 'Billing webhook']);
    const create = doc.paths['/api/v1/services/{serviceId}/snapshots']!.post as { requestBody: { content: Record<string, { schema: { required: string[] } }> }; responses: Record<string, { description: string }> };
    expect(create.requestBody.content['application/json']!.schema.required).toEqual(['name']);
    expect(create.responses['409']!.description).toContain('`snapshot_limit_reached`');
    expect(create.responses['429']!.description).toContain('`rate_limited`');

    type Op = { tags: string[]; parameters: { name: string; in: string; required: boolean }[]; requestBody: { content: Record<string, { schema: { oneOf: { properties: { event: { const: string } } }[]; discriminator: unknown } }> }; responses: Record<string, { description: string; content?: unknown }> };
    const hook = doc.paths[WEBHOOK_PATH]!.post as Op;
    expect(hook.tags).toEqual(['Billing webhook']);
    expect(hook.parameters.filter((p) => p.in === 'header').map((p) => [p.name, p.required]))
      .toEqual([['X-Snapshots-Timestamp', true], ['X-Snapshots-Signature', true]]);
    const events = hook.requestBody.content['application/json']!.schema;
    expect(events.oneOf.map((o) => o.properties.event.const)).toEqual(['plan.before_change', 'plan.changed', 'service.suspended', 'service.unsuspended', 'service.terminated', 'storage.can_expand', 'service.provisioned_from_snapshot']);
    expect(events.discriminator).toEqual({ propertyName: 'event' });
    expect(hook.responses['401']!.description).toContain('`webhook_signature_invalid`');
    expect(hook.responses['401']!.description).not.toContain('not_logged_in');
    // The raw body is parsed by the webhook itself: the JSON API's body errors do not apply.
    expect(hook.responses['422']).toBeUndefined();
    expect(hook.responses['415']!.description).not.toContain('json_required');
    const activity = doc.paths['/api/v1/services/{serviceId}/activity']!.get as Op;
    expect(activity.parameters.filter((p) => p.in === 'query').map((p) => p.name)).toEqual(['before', 'limit', 'lng']);
    const removeSchedule = doc.paths['/api/v1/services/{serviceId}/schedules/{scheduleId}']!.delete as Op;
    expect(removeSchedule.responses['204']).toEqual({ description: 'Removed' });
    expect((doc.paths['/api/v1/services/{serviceId}/schedules']!.post as Op).responses['409']!.description).toContain('`schedule_limit_reached`');
  });

  it('would catch an undocumented field: a body with an extra key does not pass', () => {
    const ok = { snapshot: { id: 1, name: 'n', description: null, status: 'active', pinned: false, includeMemory: false, origin: 'manual', scheduleId: null, diskBytes: null, memoryBytes: null, error: null, createdAt: '2026-01-01T00:00:00.000Z', completedAt: null } };
    expect(() => expectDocumented(snapshotRoutes.get, { status: 200, body: ok })).not.toThrow();
    expect(() => expectDocumented(snapshotRoutes.get, { status: 200, body: { snapshot: { ...ok.snapshot, hvName: 'leak' } } })).toThrow();
    expect(() => expectDocumented(snapshotRoutes.get, { status: 409, body: { error: { code: 'x', message: 'm' } } })).toThrow();
    expect(() => expectDocumented(snapshotRoutes.get, { status: 404, body: { error: { code: 'snapshot_not_found', message: 'm' } } })).not.toThrow();
  });
});

describe.each(DATABASES)('JSON API answers match openapi.json ($kind)', (kind) => {
  const fx = useModule(kind, {
    services: [makeService(), makeService({ id: 'svc-2', name: 'other', ownerId: 'bob', status: 'suspended' })],
    config: { webhookSecret: SECRET },
  });
  const as = (actor: string | null) => {
    const api = supertest(appFor(fx.mod));
    return {
      get: (url: string) => (actor ? api.get(url).set('x-test-actor', actor) : api.get(url)),
      send: (method: 'post' | 'patch' | 'delete', url: string, body?: unknown) => {
        const r = api[method](url);
        if (actor) r.set('x-test-actor', actor);
        return body === undefined ? r : r.send(body as object);
      },
    };
  };
  type Answer = Awaited<ReturnType<ReturnType<typeof as>['get']>>;

  it('serves the document without a session, and the router registers exactly the documented routes', async () => {
    const res = await supertest(appFor(fx.mod)).get(OPENAPI_PATH);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/json');
    expect(res.body).toEqual(JSON.parse(JSON.stringify(snapshotApiDocument())));
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const documented = Object.entries(res.body.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => routeKey({ method: m, path: path.replace(/\{(\w+)\}/g, ':$1') })));
    // Two routers: the session API (plus the document itself) and the signed webhook.
    const webhook = new Set([routeKey(webhookRoute)]);
    const registered = registeredRoutes(fx.mod.routers.api).map(routeKey);
    expect(registered.sort()).toEqual([...documented.filter((k) => !webhook.has(k)), `GET ${OPENAPI_PATH}`].sort());
    expect(registeredRoutes(fx.mod.routers.webhook).map(routeKey)).toEqual(documented.filter((k) => webhook.has(k)));
  });

  it('every answer of a tour through the API, successes and refusals, is a documented status and shape', async () => {
    const alice = as('alice');
    const d = snapshotRoutes;
    expectDocumented(d.list, await alice.get(API));
    const created = await alice.send('post', API, { name: 'tour', description: 'first', includeMemory: true });
    expectDocumented(d.create, created);
    expect(created.status).toBe(202);
    const id = created.body.snapshot.id as number;
    await fx.mod.start();
    await waitFor(async () => (await alice.get(`${API}/${id}`)).body.snapshot.status === 'active', 5000, 'snapshot active');
    expectDocumented(d.get, await alice.get(`${API}/${id}`));
    expectDocumented(d.list, await alice.get(API));
    expectDocumented(d.edit, await alice.send('patch', `${API}/${id}`, { name: 'renamed', description: null }));
    expectDocumented(d.pin, await alice.send('post', `${API}/${id}/pin`, { pinned: true }));
    const restore = await alice.send('post', `${API}/${id}/restore`, { typedServiceName: 'web-01', safetySnapshot: true });
    expect(restore.status).toBe(202);
    expect(restore.body.safetySnapshot).toMatchObject({ origin: 'safety', status: 'creating' });
    expectDocumented(d.restore, restore);
    // Refusals: each must carry a code the route documents for that status.
    const refusals: [typeof d[keyof typeof d], Answer, number][] = [
      [d.list, await as(null).get(API), 401],
      [d.list, await alice.get('/api/v1/services/svc-2/snapshots'), 404],
      [d.get, await alice.get(`${API}/999999`), 404],
      [d.create, await alice.send('post', API, { name: '' }), 422],
      [d.create, await alice.send('post', API, { name: 'x'.repeat(70_000) }), 413],
      [d.create, await alice.send('post', API).type('json').send('{"name":'), 400],
      [d.create, await alice.send('post', API).type('form').send({ name: 'x' }), 415],
      [d.create, await as('bob').send('post', '/api/v1/services/svc-2/snapshots', { name: 'while suspended' }), 409],
      [d.delete, await alice.send('delete', `${API}/${id}`, { confirm: true, typedName: 'wrong' }), 422],
      [d.delete, await alice.send('delete', `${API}/${id}`, {}), 422],
      [d.pin, await alice.send('post', `${API}/${id}/pin`, { pinned: 'yes' }), 422],
      [d.restore, await alice.send('post', `${API}/${id}/restore`, { typedServiceName: 'web-02' }), 422],
      [d.restore, await alice.send('post', `${API}/424242/restore`, { typedServiceName: 'web-01' }), 404],
    ];
    for (const [doc, res, status] of refusals) {
      expect(res.status, `${doc.operationId}: ${JSON.stringify(res.body)}`).toBe(status);
      expectDocumented(doc, res);
    }
    for (let i = 0; i < 3; i++) await alice.send('post', API, { name: `fill ${i}` });
    const full = await alice.send('post', API, { name: 'one too many' });
    expect(full.body.error.code).toBe('snapshot_limit_reached');
    expectDocumented(d.create, full);
    let limited = full;
    for (let i = 0; i < 25 && limited.status !== 429; i++) limited = await alice.send('post', API, { name: 'again' });
    expect(limited.status).toBe(429);
    expectDocumented(d.create, limited);
  });

  it('the schedules and activity API: every answer of a tour, successes and refusals, is a documented status and shape', async () => {
    const alice = as('alice');
    const d = scheduleRoutes;
    const NEW = { name: 'nightly', days: [1, 3], hour: 3, minute: 15, timezone: 'Asia/Seoul', keep: 2 };
    const empty = await alice.get(SCHEDULES);
    expectDocumented(d.list, empty);
    expect(empty.body).toMatchObject({ schedules: [], used: 0, limits: { maxSchedules: 1, maxKeep: 3 } });
    await fx.mod.start(); // next runs come from the job store
    const created = await alice.send('post', SCHEDULES, { ...NEW, includeMemory: true });
    expect(created.status).toBe(201);
    expectDocumented(d.create, created);
    expect(created.body.schedule.nextRunAt).toEqual(expect.any(String));
    const one = `${SCHEDULES}/${created.body.schedule.id as number}`;
    expectDocumented(d.get, await alice.get(one));
    expectDocumented(d.list, await alice.get(SCHEDULES));
    expectDocumented(d.update, await alice.send('patch', one, { hour: 22, days: [6] }));
    const off = await alice.send('patch', one, { enabled: false });
    expect(off.body.schedule).toMatchObject({ enabled: false, nextRunAt: null, hour: 22 });
    expectDocumented(d.update, off);
    expectDocumented(d.update, await alice.send('patch', one, { enabled: true }));

    // Activity: the owner sees "you", an admin sees a customer; paged with olderBefore.
    const log = await alice.get(ACTIVITY);
    expectDocumented(d.activity, log);
    expect(log.body.events.map((e: { action: string }) => e.action)).toEqual(['schedule.enable', 'schedule.disable', 'schedule.update', 'schedule.create']);
    expect(log.body.events[0]).toMatchObject({ actor: 'you', result: 'ok', subject: expect.stringContaining('nightly') });
    const first = await alice.get(`${ACTIVITY}?limit=1`);
    expectDocumented(d.activity, first);
    expect(first.body.olderBefore).toBe(log.body.events[0].id);
    const older = await alice.get(`${ACTIVITY}?before=${first.body.olderBefore as number}&limit=3`);
    expectDocumented(d.activity, older);
    expect(older.body).toMatchObject({ events: log.body.events.slice(1), olderBefore: null });
    const seenByAdmin = await as('admin').get(ACTIVITY);
    expectDocumented(d.activity, seenByAdmin);
    expect(seenByAdmin.body.events[0].actor).toBe('customer');

    // Refusals: each must be the expected one and carry a code the route documents for that status.
    const refusals: [typeof d[keyof typeof d], Answer, number, string][] = [
      [d.list, await as(null).get(SCHEDULES), 401, 'not_logged_in'],
      [d.list, await alice.get('/api/v1/services/svc-2/schedules'), 404, 'service_not_found'],
      [d.get, await alice.get(`${SCHEDULES}/999999`), 404, 'schedule_not_found'],
      [d.get, await alice.get(`${SCHEDULES}/abc`), 404, 'schedule_not_found'],
      [d.create, await alice.send('post', SCHEDULES, { ...NEW, hour: 24, keep: 9 }), 422, 'validation_failed'],
      [d.create, await alice.send('post', SCHEDULES, { ...NEW, days: 'monday' }), 422, 'validation_failed'],
      [d.create, await alice.send('post', SCHEDULES, NEW), 409, 'schedule_limit_reached'],
      [d.create, await as('bob').send('post', '/api/v1/services/svc-2/schedules', NEW), 409, 'service_suspended'],
      [d.create, await alice.send('post', SCHEDULES).type('form').send({ name: 'x' }), 415, 'json_required'],
      [d.create, await alice.send('post', SCHEDULES).type('json').send('{"name":'), 400, 'invalid_json'],
      [d.create, await alice.send('post', SCHEDULES, { ...NEW, name: 'x'.repeat(70_000) }), 413, 'payload_too_large'],
      [d.update, await alice.send('patch', one, { minute: 60 }), 422, 'validation_failed'],
      [d.update, await alice.send('patch', `${SCHEDULES}/424242`, { hour: 1 }), 404, 'schedule_not_found'],
      [d.delete, await alice.send('delete', `${SCHEDULES}/424242`), 404, 'schedule_not_found'],
      [d.delete, await as('bob').send('delete', '/api/v1/services/svc-2/schedules/1'), 409, 'service_suspended'],
      [d.activity, await as(null).get(ACTIVITY), 401, 'not_logged_in'],
      [d.activity, await alice.get('/api/v1/services/svc-2/activity'), 404, 'service_not_found'],
      [d.activity, await alice.get(`${ACTIVITY}?limit=0`), 422, 'validation_failed'],
      [d.activity, await alice.get(`${ACTIVITY}?before=abc`), 422, 'validation_failed'],
    ];
    for (const [doc, res, status, code] of refusals) {
      expect([res.status, res.body.error?.code], `${doc.operationId}: ${JSON.stringify(res.body)}`).toEqual([status, code]);
      expectDocumented(doc, res);
    }
    const removed = await alice.send('delete', one);
    expect(removed.status).toBe(204);
    expectDocumented(d.delete, removed);
    expectDocumented(d.get, await alice.get(one));
  });

  it('the billing webhook: every answer, successes and refusals, is a documented status and shape', async () => {
    const api = supertest(appFor(fx.mod));
    const now = () => Math.floor(Date.now() / 1000);
    /** Signed as a billing system would sign it, unless `headers` overrides. */
    const deliver = (body: unknown, headers: Record<string, string> = {}) => {
      const raw = typeof body === 'string' ? body : JSON.stringify(body);
      const ts = String(now());
      const signature = createHmac('sha256', SECRET).update(`${ts}.${raw}`).digest('hex');
      return api.post(WEBHOOK_PATH).set({ 'content-type': 'application/json', 'x-snapshots-timestamp': ts, 'x-snapshots-signature': signature, ...headers }).send(raw);
    };
    const event = (name: string, eventId: string, extra: Record<string, unknown> = {}) => ({ event: name, eventId, serviceId: 'svc-1', ...extra });
    const answers = [
      await deliver(event('plan.before_change', 'e1', { newPlanId: 'bigger', newDiskBytes: 2 ** 40 })),
      await deliver(event('plan.changed', 'e2')),
      await deliver(event('service.suspended', 'e3')),
      await deliver(event('service.suspended', 'e3')),
      await deliver(event('service.unsuspended', 'e4')),
      await deliver(event('storage.can_expand', 'e5')),
      await deliver(event('service.terminated', 'e6', { serviceId: 'svc-2' })),
    ];
    for (const res of answers) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expectDocumented(webhookRoute, res);
    }
    expect(answers[3]!.headers['x-snapshots-replayed']).toBe('true');
    expect(answers[6]!.body.result).toEqual({ changed: true, deleting: 0 });

    const refusals: [Answer, number, string][] = [
      [await api.post(WEBHOOK_PATH).type('json').send(event('service.suspended', 'r1')), 401, 'webhook_signature_missing'],
      [await deliver(event('service.suspended', 'r2'), { 'x-snapshots-signature': 'ab'.repeat(32) }), 401, 'webhook_signature_invalid'],
      [await deliver(event('service.suspended', 'r3'), { 'x-snapshots-timestamp': 'yesterday' }), 401, 'webhook_timestamp_invalid'],
      [await deliver(event('service.suspended', 'r4'), { 'x-snapshots-timestamp': String(now() - 3600) }), 401, 'webhook_timestamp_expired'],
      [await deliver('{"event":'), 400, 'invalid_json'],
      [await deliver(event('service.exploded', 'r5')), 400, 'webhook_unknown_event'],
      [await deliver({ event: 'service.suspended', eventId: 'r6' }), 400, 'webhook_invalid_payload'],
      [await deliver(event('service.suspended', 'r7', { serviceId: 'nope' })), 404, 'service_not_found'],
      [await deliver(event('service.unsuspended', 'e3')), 409, 'webhook_event_id_reused'],
      [await deliver(event('service.suspended', 'r8', { padding: 'x'.repeat(70_000) })), 413, 'payload_too_large'],
    ];
    for (const [res, status, code] of refusals) {
      expect([res.status, res.body.error?.code], JSON.stringify(res.body)).toEqual([status, code]);
      expectDocumented(webhookRoute, res);
    }
  });
});
