import { readFileSync } from 'node:fs';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { snapshotRoutes } from '../../module/http/api/routes.js';
import { DATABASES } from '../helpers/databases.js';
import { useModule } from '../helpers/db-suite.js';
import { appFor, sessionFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';
import { expectDocumented } from '../helpers/routes.js';

// All input validated with clear localized errors and never a 500; output escaped.
const STORED = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'; DROP TABLE snapshot_snapshots; --",
  "Robert'); DELETE FROM snapshot_snapshots WHERE ('1'='1",
  '📸 백업 🔥 👨‍👩‍👧‍👦',
  'نسخة احتياطية ليلية',
  'גיבוי שבועי 2',
  '<%= process.env %> {{max}} $t(errors:name_required)',
];
const TEN_KB = 'x'.repeat(10_240);
const REFUSED: { name: string; description?: string; field: string; code: string; max?: number }[] = [
  { name: '\u202Eexe.txt', field: 'name', code: 'name_invalid_characters' },
  { name: 'bad\u0000name', field: 'name', code: 'name_invalid_characters' },
  { name: TEN_KB, field: 'name', code: 'name_too_long', max: 64 },
  { name: '   ', field: 'name', code: 'name_required' },
  { name: 'y'.repeat(30_000), field: 'name', code: 'field_invalid' },
  { name: 'ok', description: TEN_KB, field: 'description', code: 'description_too_long', max: 255 },
  { name: 'ok', description: 'ring \u0007 bell', field: 'description', code: 'description_invalid_characters' },
];

const errorsKo = JSON.parse(readFileSync(new URL('../../locales/ko/errors.json', import.meta.url), 'utf8')) as Record<string, string>;
const ko = (code: string, max?: number) => errorsKo[code]!.replace('{{max}}', String(max));

/** What EJS's `<%= %>` makes of a string. */
const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');

function expectEscaped(html: string, value: string) {
  expect(html).toContain(escapeHtml(value));
  if (/[<>"]/.test(value)) expect(html).not.toContain(value);
  expect(html).not.toMatch(/<script>alert|<img src=x/);
}

describe.each(DATABASES)('hostile names and descriptions ($kind)', (kind) => {
  const fx = useModule(kind, {
    services: [
      makeService({ name: '<script>alert("svc")</script>' }),
      makeService({ id: 'svc-bob', name: 'bob-01', ownerId: 'bob' }),
    ],
    config: { defaultLimits: { maxSnapshots: 100, maxSchedules: 1, maxKeep: 3, memoryAllowed: true, schedulesAllowed: true } },
  });
  const PAGE = '/services/svc-1/snapshots';
  const API = '/api/v1/services/svc-1/snapshots';

  const names = async () => (await fx.db('snapshot_snapshots').orderBy('id').select('name', 'description')).map((r) => [r.name, r.description]);

  it('pages store hostile-looking names exactly and show them escaped on every page', async () => {
    const { agent, token, page } = await sessionFor(fx.mod, 'alice', PAGE);
    // The panel's service name is input too.
    expectEscaped(page.text, '<script>alert("svc")</script>');
    for (const name of STORED) {
      const res = await agent.post(PAGE).type('form').send({ _csrf: token, name, description: `about ${name}` });
      expect(res.status, name).toBe(303);
    }
    expect(await names()).toEqual(STORED.map((n) => [n, `about ${n}`]));
    const list = await agent.get(PAGE);
    expect(list.status).toBe(200);
    for (const name of STORED) expectEscaped(list.text, name);
    const rows = await fx.db('snapshot_snapshots').orderBy('id').select('id', 'name');
    for (const { id, name } of rows) {
      for (const view of ['edit', 'delete', 'restore']) {
        const res = await agent.get(`${PAGE}/${id}/${view}`);
        expect(res.status, `${view} ${name}`).toBe(200);
        expectEscaped(res.text, name);
      }
    }
  });

  it('the API stores and returns them exactly, for create and edit', async () => {
    const api = supertest(appFor(fx.mod));
    for (const name of STORED) {
      const created = await api.post(API).set('x-test-actor', 'alice').send({ name, description: name });
      expectDocumented(snapshotRoutes.create, created);
      expect(created.status, name).toBe(202);
      expect(created.body.snapshot).toMatchObject({ name, description: name });
      const edited = await api.patch(`${API}/${created.body.snapshot.id}`).set('x-test-actor', 'alice').send({ name: `${name} ✎` });
      expectDocumented(snapshotRoutes.edit, edited);
      expect(edited.body.snapshot.name).toBe(`${name} ✎`);
    }
    const list = await api.get(API).set('x-test-actor', 'alice');
    // Newest first.
    expect(list.body.snapshots.map((s: { name: string }) => s.name)).toEqual(STORED.map((n) => `${n} ✎`).reverse());
    expect(list.headers['content-type']).toContain('application/json');
  });

  it('refuses control and direction characters and 10 kB strings with a localized error, keeping the input, never a 500', async () => {
    const { agent, token } = await sessionFor(fx.mod, 'bob', '/services/svc-bob/snapshots');
    const api = supertest(appFor(fx.mod));
    for (const c of REFUSED) {
      const label = `${c.code} (${c.name.length} chars)`;
      const form = await agent.post('/services/svc-bob/snapshots').type('form').send({ _csrf: token, name: c.name, description: c.description ?? '' });
      expect(form.status, label).toBe(422);
      expect(form.text, label).toContain(escapeHtml(ko(c.code, c.max)));
      if (c.field === 'name' && c.name.trim() && c.name.length < 20_000) expect(form.text, label).toContain(escapeHtml(c.name));
      const json = await api.post('/api/v1/services/svc-bob/snapshots').set('x-test-actor', 'bob').send({ name: c.name, description: c.description });
      expectDocumented(snapshotRoutes.create, json);
      expect(json.status, label).toBe(422);
      expect(json.body.error.fields[c.field], label).toEqual({ code: c.code, message: ko(c.code, c.max) });
    }
    // The same through the edit form and PATCH.
    const id = (await api.post('/api/v1/services/svc-bob/snapshots').set('x-test-actor', 'bob').send({ name: 'plain' })).body.snapshot.id;
    for (const c of REFUSED) {
      const form = await agent.post(`/services/svc-bob/snapshots/${id}/edit`).type('form').send({ _csrf: token, name: c.name, description: c.description ?? '' });
      expect(form.status, c.code).toBe(422);
      expect(form.text, c.code).toContain(escapeHtml(ko(c.code, c.max)));
      const json = await api.patch(`/api/v1/services/svc-bob/snapshots/${id}`).set('x-test-actor', 'bob').send({ name: c.name, description: c.description });
      expect(json.status, c.code).toBe(422);
      expect(json.body.error.fields[c.field].code).toBe(c.code);
    }
    // A JSON string may hold half a surrogate pair, which UTF-8 (so the database) cannot: refused, never stored as U+FFFD.
    for (const [body, field] of [[{ name: 'half \ud83d' }, 'name'], [{ name: 'ok', description: 'half \udc00' }, 'description']] as const) {
      const half = await api.post('/api/v1/services/svc-bob/snapshots').set('x-test-actor', 'bob').send(body);
      expect(half.status, field).toBe(422);
      expect(half.body.error.fields[field], field).toEqual({ code: `${field}_invalid_characters`, message: ko(`${field}_invalid_characters`) });
    }
    expect(await names()).toEqual([['plain', null]]);
  });

  it('answers a body over the size limit, or not UTF-8 JSON, with a localized error instead of a 500', async () => {
    const api = supertest(appFor(fx.mod));
    const huge = await api.post('/api/v1/services/svc-bob/snapshots').set('x-test-actor', 'bob').send({ name: 'z'.repeat(100_000) });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload_too_large');
    expect(huge.body.error.message).toBe(ko('payload_too_large'));
    const broken = await api.post('/api/v1/services/svc-bob/snapshots').set('x-test-actor', 'bob').type('json').send('{"name": "\u0000');
    expect(broken.status).toBe(400);
    expectDocumented(snapshotRoutes.create, broken);
    const { agent, token } = await sessionFor(fx.mod, 'bob', '/services/svc-bob/snapshots');
    const form = await agent.post('/services/svc-bob/snapshots').type('form').send({ _csrf: token, name: 'z'.repeat(100_000) });
    expect(form.status).toBe(413);
    expect(form.text).toContain(ko('payload_too_large'));
  });
});
