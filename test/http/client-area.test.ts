import { describe, expect, it } from 'vitest';
import supertest from 'supertest';
import { DATABASES } from '../helpers/databases.js';
import { useModule } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { appFor, sessionFor } from '../helpers/http-app.js';
import { SchedulesRepo } from '../../module/db/schedules-repo.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';

const PAGE = '/services/svc-1/snapshots';

describe.each(DATABASES)('client area over HTTP ($kind)', (kind) => {
  const fx = useModule(kind, {
    services: [makeService(), makeService({ id: 'svc-2', name: 'other', ownerId: 'bob' }), makeService({ id: 'svc-3', name: 'resold', ownerId: 'bob', resellerId: 'rex' })],
  });

  it('shows the owner the Snapshots page with quota and the create form', async () => {
    const res = await supertest(appFor(fx.mod)).get(PAGE).set('x-test-actor', 'alice');
    expect(res.status).toBe(200);
    expect(res.text).toContain('Snapshots left: 3 of 3');
    expect(res.text).toContain('Create New Snapshot');
    expect(res.text).toContain('Simulated hypervisor');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
  });

  it('pages are never stored by browsers or proxies, so they carry no ETag; HEAD answers headers only', async () => {
    const app = appFor(fx.mod);
    const res = await supertest(app).get(PAGE).set('x-test-actor', 'alice');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.etag).toBeUndefined();
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.text));
    const head = await supertest(app).head(PAGE).set('x-test-actor', 'alice');
    expect(head.status).toBe(200);
    expect(head.text ?? '').toBe('');
    expect(head.headers['content-length']).toBe(res.headers['content-length']);
  });

  it('reads the page in one query: service state with its limits, snapshots with schedule names, the queue', async () => {
    const app = appFor(fx.mod);
    await supertest(app).get(PAGE).set('x-test-actor', 'alice');
    const queries: string[] = [];
    const count = (q: { sql: string }) => { queries.push(q.sql); };
    fx.db.on('query', count);
    try {
      expect((await supertest(app).get(PAGE).set('x-test-actor', 'alice')).status).toBe(200);
    } finally {
      fx.db.off('query', count);
    }
    expect(queries).toHaveLength(1);
    for (const table of ['snapshot_services', 'snapshot_plan_limits', 'snapshot_snapshots', 'snapshot_schedules', 'snapshot_operations']) {
      expect(queries[0]).toMatch(new RegExp(`\\b${table}\\b`));
    }
  });

  it('answers 404 for a service of another customer, and for nobody logged in 401', async () => {
    const app = appFor(fx.mod);
    await supertest(app).get(PAGE).set('x-test-actor', 'alice'); // remembers alice's language, once
    const queries: string[] = [];
    const count = (q: { sql: string }) => { queries.push(q.sql); };
    fx.db.on('query', count);
    try {
      expect((await supertest(app).get('/services/svc-2/snapshots').set('x-test-actor', 'alice')).status).toBe(404);
    } finally {
      fx.db.off('query', count);
    }
    // Refused on the panel's record alone: someone else's service costs no query, writes nothing.
    expect(queries).toEqual([]);
    expect((await supertest(app).get('/services/nope/snapshots').set('x-test-actor', 'alice')).status).toBe(404);
    expect((await supertest(app).get(PAGE)).status).toBe(401);
  });

  it('lets a reseller see their customer\'s service but not others', async () => {
    const app = appFor(fx.mod);
    expect((await supertest(app).get('/services/svc-3/snapshots').set('x-test-actor', 'reseller')).status).toBe(200);
    expect((await supertest(app).get(PAGE).set('x-test-actor', 'reseller')).status).toBe(404);
  });

  it('creates a snapshot from the form and lists it as Creating, then Current once the runner has run', async () => {
    const { agent, token } = await sessionFor(fx.mod, 'alice', PAGE);
    const res = await agent.post(PAGE).type('form').send({ _csrf: token, name: '주간 백업', description: 'before upgrade' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${PAGE}?flash=created`);
    const list = await agent.get(res.headers.location!);
    expect(list.text).toContain('주간 백업');
    expect(list.text).toContain('Creating');
    expect(list.text).toContain('Snapshots left: 2 of 3');
    await fx.mod.start();
    await expect.poll(async () => (await agent.get(PAGE)).text, { timeout: 5000 }).toContain('>Current<');
  });

  it('refuses a form post without a valid CSRF token and creates nothing', async () => {
    const { agent } = await sessionFor(fx.mod, 'alice', PAGE);
    const res = await agent.post(PAGE).type('form').send({ _csrf: 'forged', name: 'x' });
    expect(res.status).toBe(403);
    expect(res.text).toContain('Your form expired');
    expect(await fx.db('snapshot_snapshots').count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });

  it('re-renders the form with a localized error and the input kept when the name is invalid', async () => {
    const { agent, token } = await sessionFor(fx.mod, 'bob', '/services/svc-2/snapshots');
    const long = 'あ'.repeat(65);
    const res = await agent.post('/services/svc-2/snapshots').type('form').send({ _csrf: token, name: long, description: '<b>x</b>' });
    expect(res.status).toBe(422);
    expect(res.text).toContain(long);
    expect(res.text).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(res.text).not.toContain('<b>x</b>');
    // bob's locale is Korean: no English error text.
    expect(res.text).not.toContain('The name can be at most');
  });

  it('names the schedule that made a snapshot, escaped, and a deleted or another service\'s one as deleted', async () => {
    const schedules = new SchedulesRepo(fx.db);
    const snapshots = new SnapshotsRepo(fx.db);
    const schedule = { enabled: true, days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 3, includeMemory: false };
    const own = await schedules.insert({ ...schedule, serviceId: 'svc-1', name: 'Nightly <b>' });
    const gone = await schedules.insert({ ...schedule, serviceId: 'svc-1', name: 'Gone' });
    const other = await schedules.insert({ ...schedule, serviceId: 'svc-2', name: 'Bob\'s' });
    await schedules.remove(gone);
    for (const [name, scheduleId] of [['by-own', own], ['by-gone', gone], ['by-other', other]] as const) {
      await snapshots.insert({ serviceId: 'svc-1', name, description: null, hvName: `hv-${name}`, status: 'active', includeMemory: false, origin: 'schedule', scheduleId, createdBy: null });
    }
    const page = (await supertest(appFor(fx.mod)).get(PAGE).set('x-test-actor', 'alice')).text;
    const origin = (name: string) => page.match(new RegExp(`${name}</span>[\\s\\S]*?data-label="Origin">([^<]*)<`))?.[1];
    expect(origin('by-own')).toBe('Schedule: Nightly &lt;b&gt;');
    expect(origin('by-gone')).toBe('Schedule: deleted schedule');
    expect(origin('by-other')).toBe('Schedule: deleted schedule');
  });

  it('escapes a hostile snapshot name everywhere it is shown', async () => {
    const { agent, token } = await sessionFor(fx.mod, 'alice', PAGE);
    await agent.post(PAGE).type('form').send({ _csrf: token, name: '<script>alert(1)</script>' });
    const list = await agent.get(PAGE);
    expect(list.text).not.toContain('<script>alert(1)</script>');
    expect(list.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('serves the same operations as JSON with stable error codes', async () => {
    const api = supertest(appFor(fx.mod));
    const created = await api.post('/api/v1/services/svc-1/snapshots').set('x-test-actor', 'alice').send({ name: 'api one', includeMemory: true });
    expect(created.status).toBe(202);
    expect(created.body.snapshot).toMatchObject({ name: 'api one', status: 'creating', includeMemory: true, pinned: false });
    const bad = await api.post('/api/v1/services/svc-1/snapshots').set('x-test-actor', 'alice').send({ name: '' });
    expect(bad.status).toBe(422);
    expect(bad.body.error.fields.name.code).toBe('name_required');
    const form = await api.post('/api/v1/services/svc-1/snapshots').set('x-test-actor', 'alice').type('form').send({ name: 'x' });
    expect(form.status).toBe(415);
    // The panel user's language wins; bob's is Korean.
    const ko = await api.post('/api/v1/services/svc-2/snapshots').set('x-test-actor', 'bob').query({ lng: 'en' }).send({ name: '' });
    expect(ko.body.error.fields.name.code).toBe('name_required');
    expect(ko.body.error.fields.name.message).toBe('스냅샷 이름을 입력하세요.');
    const list = await api.get('/api/v1/services/svc-1/snapshots').set('x-test-actor', 'alice');
    expect(list.body.quota).toEqual({ limit: 3, used: 1, left: 2, over: 0 });
    expect(list.body.storageExpansionBlocked).toBe(true);
  });

  it('pins, then asks for the typed name before deleting a pinned snapshot', async () => {
    const { agent, token } = await sessionFor(fx.mod, 'alice', PAGE);
    await agent.post(PAGE).type('form').send({ _csrf: token, name: 'keep me' });
    await fx.mod.start();
    const row = () => fx.db('snapshot_snapshots').first();
    await expect.poll(async () => (await row()).status, { timeout: 5000 }).toBe('active');
    const id = (await row()).id;
    expect((await agent.post(`${PAGE}/${id}/pin`).type('form').send({ _csrf: token, pinned: '1' })).status).toBe(303);
    const wrong = await agent.post(`${PAGE}/${id}/delete`).type('form').send({ _csrf: token, confirm: '1', typedName: 'keep' });
    expect(wrong.status).toBe(422);
    expect(wrong.text).toContain('does not match');
    expect((await row()).status).toBe('active');
    const ok = await agent.post(`${PAGE}/${id}/delete`).type('form').send({ _csrf: token, confirm: '1', typedName: 'keep me' });
    expect(ok.headers.location).toBe(`${PAGE}?flash=delete_scheduled`);
    await expect.poll(async () => (await row()) ?? null, { timeout: 5000 }).toBeNull();
  });

  it('rate-limits creates per user with a localized 429, and other users are not affected', async () => {
    const api = supertest(appFor(fx.mod));
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) {
      statuses.push((await api.post('/api/v1/services/svc-1/snapshots').set('x-test-actor', 'alice').send({ name: `n${i}` })).status);
    }
    // 3 fit the quota, the rest of the first 20 meet the snapshot limit, the 21st the rate limit.
    expect(statuses.slice(0, 3)).toEqual([202, 202, 202]);
    expect(statuses.slice(3, 20).every((s) => s === 409)).toBe(true);
    expect(statuses[20]).toBe(429);
    const limited = await api.post('/api/v1/services/svc-1/snapshots').set('x-test-actor', 'alice').send({ name: 'again' });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(limited.body.error.message).toContain('60');
    const bob = await api.post('/api/v1/services/svc-2/snapshots').set('x-test-actor', 'bob').send({ name: 'mine' });
    expect(bob.status).toBe(202);
  });

  it('leaves the host panel\'s own pages alone: no module headers, no module 404s', async () => {
    const app = appFor(fx.mod);
    app.get('/dashboard', (_req, res) => { res.send('host page'); });
    app.get('/api/v1/host-thing', (_req, res) => { res.json({ host: true }); });
    const page = await supertest(app).get('/dashboard').set('x-test-actor', 'alice');
    expect(page.text).toBe('host page');
    expect(page.headers['content-security-policy']).toBeUndefined();
    expect((await supertest(app).get('/api/v1/host-thing')).body).toEqual({ host: true });
    const css = await supertest(app).get('/snapshots-assets/snapshots.css');
    expect(css.status).toBe(200);
    expect(css.text).toContain('.snapshots');
  });

  it('sends no HSTS on a plain-HTTP panel', async () => {
    const res = await supertest(appFor(fx.mod)).get(PAGE).set('x-test-actor', 'alice');
    expect(res.headers['strict-transport-security']).toBeUndefined();
    expect(res.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
  });

  it('menuItem shows the entry in the actor\'s language only to those who may see the service', () => {
    const svc = makeService();
    expect(fx.mod.menuItem(svc, { id: 'alice', role: 'customer', locale: 'en' })).toEqual({ label: 'Snapshots', href: PAGE });
    expect(fx.mod.menuItem(svc, { id: 'bob', role: 'customer' })).toBeNull();
    expect(fx.mod.menuItem(svc, { id: 'root', role: 'admin', locale: 'ko' })?.label).not.toBe('Snapshots');
  });
});
