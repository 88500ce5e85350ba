import { createHash, createHmac } from 'node:crypto';
import express from 'express';
import supertest from 'supertest';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuditRepo } from '../../module/db/audit-repo.js';
import { ServicesRepo } from '../../module/db/services-repo.js';
import { configSchema, MIN_WEBHOOK_EVENT_RETENTION_MS } from '../../module/config/options.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import { WebhookEventsRepo } from '../../module/db/webhook-events-repo.js';
import type { ActionContext } from '../../module/index.js';
import { canonicalJson } from '../../module/http/webhook/dispatch.js';
import type { PanelService } from '../../module/index.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useModule } from '../helpers/db-suite.js';
import { appFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const SECRET = 'webhook-test-secret-0123456789abcdefghij';
const PATH = '/webhooks/snapshots';
const SERVICE = makeService();
const GiB = 1024 ** 3;
const CTX: ActionContext = { actor: { type: 'customer', id: 'alice' } };

/** Signs like a billing system would: hex HMAC-SHA256 of "<timestamp>.<raw body>", written independently of the module. */
function sign(raw: string, ts: number, secret = SECRET) {
  return createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex');
}
const now = () => Math.floor(Date.now() / 1000);

describe.each(DATABASES)('billing webhook ($kind)', (kind: TestDatabase) => {
  const fx = useModule(kind, { config: { webhookSecret: SECRET } });
  let app: express.Express;

  beforeEach(() => {
    app = appFor(fx.mod);
  });

  /** POSTs `body` (an object, or a raw string sent byte for byte), signed unless told otherwise. */
  function deliver(body: unknown, opts: { ts?: number; secret?: string; headers?: Record<string, string | null>; lang?: string } = {}) {
    const raw = typeof body === 'string' ? body : JSON.stringify(body);
    const ts = opts.ts ?? now();
    const headers: Record<string, string | null> = {
      'content-type': 'application/json', 'x-snapshots-timestamp': String(ts), 'x-snapshots-signature': sign(raw, ts, opts.secret),
      ...(opts.lang ? { 'accept-language': opts.lang } : {}), ...opts.headers,
    };
    const req = supertest(app).post(PATH);
    for (const [k, v] of Object.entries(headers)) if (v !== null) req.set(k, v);
    return req.send(raw);
  }
  const suspended = async () => (await new ServicesRepo(fx.db).get(SERVICE.id))?.suspended ?? false;
  const audits = (action: string) => new AuditRepo(fx.db).list({ serviceId: SERVICE.id, action });
  const stored = () => fx.db('snapshot_webhook_events').select();

  async function activeSnapshots(n: number) {
    await fx.mod.start();
    for (let i = 0; i < n; i++) await fx.mod.snapshots.create(SERVICE, { name: `s${i}` }, CTX);
    await waitFor(async () => (await new SnapshotsRepo(fx.db).listForService(SERVICE.id)).every((s) => s.status === 'active'), 5_000, 'active');
    await fx.mod.stop();
  }

  it('a correctly signed delivery is applied, answered and audited with its event id', async () => {
    const res = await deliver({ event: 'service.suspended', eventId: 'evt-1', serviceId: SERVICE.id });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ eventId: 'evt-1', event: 'service.suspended', result: { changed: true } });
    expect(await suspended()).toBe(true);
    const [row] = await audits('billing.suspended');
    expect(row).toMatchObject({ actorType: 'billing', actorId: 'evt-1', result: 'ok' });

    const back = await deliver({ event: 'service.unsuspended', eventId: 'evt-2', serviceId: SERVICE.id });
    expect(back.body).toEqual({ eventId: 'evt-2', event: 'service.unsuspended', result: { changed: true } });
    expect(await suspended()).toBe(false);
  });

  it('refuses a wrong secret, a changed body, and junk signatures; nothing is applied', async () => {
    const body = { event: 'service.suspended', eventId: 'evt-bad', serviceId: SERVICE.id };
    const raw = JSON.stringify(body);
    const ts = now();
    const cases = [
      deliver(body, { secret: `${SECRET}-other` }),
      deliver(body, { headers: { 'x-snapshots-signature': sign(raw.replace('evt-bad', 'evt-bad2'), ts) }, ts }),
      deliver(body, { headers: { 'x-snapshots-signature': sign(raw, ts + 1) }, ts }),
      deliver(body, { headers: { 'x-snapshots-signature': 'zz' } }),
      deliver(body, { headers: { 'x-snapshots-signature': `${sign(raw, ts)}00` }, ts }),
    ];
    for (const res of await Promise.all(cases)) {
      expect(res.status).toBe(401);
      expect(res.body.error).toEqual({ code: 'webhook_signature_invalid', message: 'The signature does not match the request body.' });
    }
    expect(await suspended()).toBe(false);
    expect(await stored()).toEqual([]);
  });

  it('refuses timestamps beyond five minutes either way, and accepts them just inside', async () => {
    const body = (id: string) => ({ event: 'service.suspended', eventId: id, serviceId: SERVICE.id });
    for (const ts of [now() - 310, now() + 310, now() - 86_400]) {
      const res = await deliver(body(`evt-${ts}`), { ts, lang: 'ko' });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('webhook_timestamp_expired');
      expect(res.body.error.message).toContain('5분');
    }
    expect(await suspended()).toBe(false);
    expect((await deliver(body('evt-late-ok'), { ts: now() - 280 })).status).toBe(200);
    expect((await deliver(body('evt-early-ok'), { ts: now() + 280 })).status).toBe(200);
  });

  it('refuses missing or malformed signature headers', async () => {
    const body = { event: 'service.suspended', eventId: 'evt-h', serviceId: SERVICE.id };
    for (const headers of [
      { 'x-snapshots-timestamp': null, 'x-snapshots-signature': null } as Record<string, string | null>,
      { 'x-snapshots-timestamp': null },
      { 'x-snapshots-signature': null },
    ]) {
      const res = await deliver(body, { headers, lang: 'ja' });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('webhook_signature_missing');
      expect(res.body.error.message).toContain('署名');
    }
    const odd = await deliver(body, { headers: { 'x-snapshots-timestamp': '2024-01-01T00:00:00Z' } });
    expect([odd.status, odd.body.error.code]).toEqual([401, 'webhook_timestamp_invalid']);
    expect(await suspended()).toBe(false);
  });

  it('a repeated event id gets the first answer and is not applied again', async () => {
    await activeSnapshots(2);
    const body = { event: 'service.terminated', eventId: 'evt-term', serviceId: SERVICE.id };
    const first = await deliver(body);
    expect(first.status).toBe(200);
    expect(first.body.result).toEqual({ changed: true, deleting: 2 });
    expect(first.get('x-snapshots-replayed')).toBeUndefined();

    // Re-signed later, keys in another order and other spacing: the same event.
    const again = await deliver(`{ "serviceId": "${SERVICE.id}",  "eventId": "evt-term", "event": "service.terminated" }`, { ts: now() + 5 });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body); // applied again it would say changed: false
    expect(again.get('x-snapshots-replayed')).toBe('true');
    expect(await audits('billing.terminated')).toHaveLength(1);

    // A different event id is applied (and finds nothing left to change).
    const other = await deliver({ ...body, eventId: 'evt-term-2' });
    expect(other.body.result).toEqual({ changed: false, deleting: 0 });
    expect(await audits('billing.terminated')).toHaveLength(2);
  });

  it('the operations sweep forgets deliveries older than the retention (30 days), dead claims too; a recent one still answers as a replay', async () => {
    const body = (id: string) => ({ event: 'service.suspended', eventId: id, serviceId: SERVICE.id });
    expect((await deliver(body('evt-old'))).status).toBe(200);
    expect((await deliver(body('evt-recent'))).status).toBe(200);
    const day = 24 * 3600_000;
    const age = (id: string, days: number) => fx.db('snapshot_webhook_events').where({ event_id: id })
      .update({ received_at: new Date(Date.now() - days * day), completed_at: new Date(Date.now() - days * day + 50) });
    await age('evt-old', 31);
    await age('evt-recent', 29);
    await fx.db('snapshot_webhook_events').insert({
      event_id: 'evt-stuck', event_type: 'service.suspended', service_id: SERVICE.id, request_hash: 'x', state: 'processing', received_at: new Date(Date.now() - 40 * day),
    });
    await fx.mod.start();
    await waitFor(async () => (await stored()).length === 1, 5_000, 'old rows pruned');
    await fx.mod.stop();
    expect((await stored()).map((r) => r.event_id)).toEqual(['evt-recent']);

    const applied = (await audits('billing.suspended')).length;
    const replay = await deliver(body('evt-recent'));
    expect(replay.status).toBe(200);
    expect(replay.headers['x-snapshots-replayed']).toBe('true');
    expect((await audits('billing.suspended')).length).toBe(applied);
    // A pruned delivery captured on the wire cannot come back: its signed time is long outside the window.
    const captured = await deliver(body('evt-old'), { ts: now() - 31 * 24 * 3600 });
    expect(captured.status).toBe(401);
    expect(captured.body.error.code).toBe('webhook_timestamp_expired');
  });

  it('prunes in batches off the received_at index, so each statement deletes a few rows', async () => {
    const repo = new WebhookEventsRepo(fx.db);
    const old = new Date(Date.now() - 3 * 3600_000);
    for (let i = 0; i < 5; i++) {
      await fx.db('snapshot_webhook_events').insert({
        event_id: `evt-${i}`, event_type: 'service.suspended', service_id: SERVICE.id, request_hash: 'x', state: 'done', received_at: old,
      });
    }
    expect((await deliver({ event: 'service.suspended', eventId: 'evt-new', serviceId: SERVICE.id })).status).toBe(200);
    expect(await repo.prune(new Date(Date.now() - 3600_000), 2)).toBe(5);
    expect((await stored()).map((r) => r.event_id)).toEqual(['evt-new']);
    expect(await repo.prune(new Date(Date.now() - 3600_000), 2)).toBe(0);
    const retention = (ms?: number) => configSchema.safeParse({ csrfSecret: 'c'.repeat(32), webhookEventRetentionMs: ms });
    expect(retention().data?.webhookEventRetentionMs).toBe(30 * 24 * 3600_000);
    expect(retention(MIN_WEBHOOK_EVENT_RETENTION_MS).success).toBe(true);
    expect(retention(2 * 5 * 60_000).success).toBe(false); // inside the replay window plus margin
  });

  it('the same event id with a different body is a 409 conflict, not applied', async () => {
    expect((await deliver({ event: 'service.suspended', eventId: 'evt-x', serviceId: SERVICE.id })).status).toBe(200);
    await fx.mod.hooks.serviceUnsuspended(SERVICE.id);
    const res = await deliver({ event: 'service.terminated', eventId: 'evt-x', serviceId: SERVICE.id }, { lang: 'en' });
    expect(res.status).toBe(409);
    expect(res.body.error).toEqual({ code: 'webhook_event_id_reused', message: 'This event id was already used for a different request body.' });
    expect((await new ServicesRepo(fx.db).get(SERVICE.id))!.terminated).toBe(false);
  });

  it('two deliveries of one id at once: one applies, the other is told to retry, then gets the first answer', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => { open = r; });
    const get = fx.services.get.bind(fx.services);
    // The panel answers slowly for the first delivery, which holds the claim meanwhile.
    (fx.services as unknown as { get: (id: string) => Promise<PanelService | undefined> }).get = async (id) => { await gate; return get(id); };
    const body = { event: 'service.suspended', eventId: 'evt-race', serviceId: SERVICE.id };
    const first = deliver(body).then((r) => r);
    await waitFor(async () => (await stored()).length === 1, 5_000, 'first claimed');
    const second = await deliver(body, { lang: 'ko' });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('webhook_event_in_progress');
    expect(second.body.error.message).toContain('처리 중');
    expect(second.get('retry-after')).toBe('2');
    open();
    const done = await first;
    expect(done.status).toBe(200);
    expect(done.body.result).toEqual({ changed: true });
    const third = await deliver(body);
    expect([third.status, third.body]).toEqual([200, done.body]);
    expect(await audits('billing.suspended')).toHaveLength(1);
  });

  it('a claim whose process died is taken over after a while; a transient failure leaves no claim', async () => {
    const body = { event: 'service.suspended', eventId: 'evt-stale', serviceId: SERVICE.id };
    await fx.db('snapshot_webhook_events').insert({
      event_id: 'evt-stale', event_type: body.event, service_id: SERVICE.id, state: 'processing',
      request_hash: createHash('sha256').update(canonicalJson(body)).digest('hex'), received_at: new Date(Date.now() - 10 * 60_000),
    });
    expect((await deliver(body)).status).toBe(200);
    expect(await suspended()).toBe(true);

    const get = fx.services.get.bind(fx.services);
    let fail = true;
    (fx.services as unknown as { get: (id: string) => PanelService | undefined }).get = (id) => {
      if (fail) throw new Error('panel database down');
      return get(id);
    };
    const flaky = { event: 'service.unsuspended', eventId: 'evt-flaky', serviceId: SERVICE.id };
    const res = await deliver(flaky);
    expect([res.status, res.body.error.code]).toEqual([500, 'internal_error']);
    expect(await fx.db('snapshot_webhook_events').where({ event_id: 'evt-flaky' })).toEqual([]);
    fail = false;
    expect((await deliver(flaky)).body.result).toEqual({ changed: true });
    expect(await suspended()).toBe(false);
  });

  it('a 4xx answer from the hooks is the first answer too', async () => {
    const body = { event: 'plan.changed', eventId: 'evt-unknown-svc', serviceId: 'svc-new' };
    const first = await deliver(body);
    expect([first.status, first.body.error.code]).toEqual([404, 'service_not_found']);
    fx.services.set('svc-new', makeService({ id: 'svc-new' }));
    const again = await deliver(body);
    expect([again.status, again.body]).toEqual([404, first.body]);
    expect((await deliver({ ...body, eventId: 'evt-known-svc' })).status).toBe(200);
  });

  it('malformed JSON, unknown events and bad fields are a localized 400, never stored', async () => {
    const bad = await deliver('{"event": "service.suspended", ', { lang: 'ko' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_json');
    expect(bad.body.error.message).toMatch(/[가-힣]/);

    const unknown = await deliver({ event: 'service.exploded', eventId: 'e1', serviceId: SERVICE.id }, { lang: 'ja' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('webhook_unknown_event');
    expect(unknown.body.error.message).toContain('不明なイベント「service.exploded」');
    expect(unknown.body.error.message).toContain('plan.before_change');

    for (const body of ['[]', 'null', '"x"', '{}']) {
      const res = await deliver(body);
      expect([res.status, res.body.error.code], body).toEqual([400, 'webhook_unknown_event']);
    }
    const fields = await deliver({ event: 'plan.before_change', eventId: 'bad id!', serviceId: SERVICE.id, newDiskBytes: -5 });
    expect(fields.status).toBe(400);
    expect(fields.body.error.code).toBe('webhook_invalid_payload');
    expect(fields.body.error.message).toBe('The webhook body has invalid or missing fields: eventId, newPlanId, newDiskBytes.');
    const empty = await deliver('');
    expect([empty.status, empty.body.error.code]).toEqual([400, 'invalid_json']);

    for (const res of [bad, unknown, fields]) expect(JSON.stringify(res.body)).not.toMatch(/undefined|errors:|billing:/);
    expect(await stored()).toEqual([]);
    expect(await suspended()).toBe(false);
  });

  it('plan.before_change, plan.changed and storage.can_expand answer like the hooks', async () => {
    await activeSnapshots(1);
    const grow = await deliver({ event: 'plan.before_change', eventId: 'p1', serviceId: SERVICE.id, newPlanId: 'large', newDiskBytes: 40 * GiB }, { lang: 'ja' });
    expect(grow.status).toBe(200);
    expect(grow.body.result).toMatchObject({ allowed: false, reason: 'snapshots_exist', snapshotCount: 1 });
    expect(grow.body.result.message).toMatch(/スナップショット/);
    const ko = await deliver({ event: 'plan.before_change', eventId: 'p2', serviceId: SERVICE.id, newPlanId: 'large', newDiskBytes: 40 * GiB, locale: 'ko' });
    expect(ko.body.result.message).toMatch(/스냅샷/);
    const same = await deliver({ event: 'plan.before_change', eventId: 'p3', serviceId: SERVICE.id, newPlanId: 'other' });
    expect(same.body.result).toEqual({ allowed: true, snapshotCount: 1, message: null });

    const can = await deliver({ event: 'storage.can_expand', eventId: 'c1', serviceId: SERVICE.id });
    expect(can.body).toEqual({ eventId: 'c1', event: 'storage.can_expand', result: { canExpand: false, snapshotCount: 1 } });

    fx.services.set(SERVICE.id, { ...SERVICE, planId: 'gold' });
    const changed = await deliver({ event: 'plan.changed', eventId: 'pc1', serviceId: SERVICE.id });
    expect(changed.body.result).toEqual({ planId: 'gold', adjustedSchedules: 0, over: 0 });
    expect((await new ServicesRepo(fx.db).get(SERVICE.id))!.planId).toBe('gold');
  });

  it('is signed, so needs no CSRF token, and answers JSON even to a browser session', async () => {
    const res = await deliver({ event: 'service.suspended', eventId: 'evt-browser', serviceId: SERVICE.id },
      { headers: { 'x-test-actor': 'admin', accept: 'text/html', 'x-snapshots-signature': '0'.repeat(64) } });
    expect(res.status).toBe(401);
    expect(res.type).toBe('application/json');
    const ok = await deliver({ event: 'service.suspended', eventId: 'evt-browser', serviceId: SERVICE.id }, { headers: { 'x-test-actor': 'alice' } });
    expect(ok.status).toBe(200);
  });

  it('refuses text, form and untyped bodies with a localized 415 before the signature is looked at; JSON with a charset is fine', async () => {
    const body = { event: 'service.suspended', eventId: 'evt-type', serviceId: SERVICE.id };
    const refused = [
      await deliver(body, { headers: { 'content-type': 'text/plain' } }),
      await deliver(body, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, lang: 'ko' }),
      await deliver(body, { headers: { 'content-type': 'text/plain', 'x-snapshots-signature': null }, lang: 'ja' }),
      // A Buffer goes out without a Content-Type header.
      await supertest(app).post(PATH).set('x-snapshots-timestamp', String(now()))
        .set('x-snapshots-signature', sign(JSON.stringify(body), now())).send(Buffer.from(JSON.stringify(body))),
    ];
    expect(refused.map((r) => [r.status, r.body.error?.code])).toEqual(Array(4).fill([415, 'unsupported_media_type']));
    expect(refused[0]!.body.error.message).toMatch(/JSON only/);
    expect(refused[1]!.body.error.message).toMatch(/JSON만/);
    expect(refused[2]!.body.error.message).toMatch(/JSON のみ/);
    expect(await stored()).toEqual([]);
    expect(await suspended()).toBe(false);

    const ok = await deliver(body, { headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(ok.status).toBe(200);
    expect(await suspended()).toBe(true);
  });

  it('tells a panel that parsed the body before the webhook what is wrong', async () => {
    const wrong = express();
    wrong.use(express.json());
    wrong.use(fx.mod.routers.webhook);
    const raw = JSON.stringify({ event: 'service.suspended', eventId: 'evt-parsed', serviceId: SERVICE.id });
    const ts = now();
    const res = await supertest(wrong).post(PATH).set('content-type', 'application/json')
      .set('x-snapshots-timestamp', String(ts)).set('x-snapshots-signature', sign(raw, ts)).send(raw);
    expect([res.status, res.body.error.code]).toEqual([500, 'webhook_raw_body_unavailable']);
    expect(await suspended()).toBe(false);
  });
});

describe.each(DATABASES)('billing webhook without a secret ($kind)', (kind: TestDatabase) => {
  const fx = useModule(kind);
  it('answers 503 webhook_not_configured and applies nothing', async () => {
    const raw = JSON.stringify({ event: 'service.suspended', eventId: 'e', serviceId: SERVICE.id });
    const ts = now();
    const res = await supertest(appFor(fx.mod)).post(PATH).set('content-type', 'application/json').set('accept-language', 'ko')
      .set('x-snapshots-timestamp', String(ts)).set('x-snapshots-signature', sign(raw, ts)).send(raw);
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('webhook_not_configured');
    expect(res.body.error.message).toMatch(/[가-힣]/);
    expect(await new ServicesRepo(fx.db).get(SERVICE.id)).toBeNull();
  });
});
