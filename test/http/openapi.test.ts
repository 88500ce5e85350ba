import { readFileSync } from 'node:fs';
import supertest from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { snapshotApiDocument } from '../../module/index.js';
import { OPENAPI_PATH } from '../../module/http/api/openapi.js';
import { snapshotRoutes } from '../../module/http/api/routes.js';
import { DATABASES, migratedDatabase } from '../helpers/databases.js';
import { appFor } from '../helpers/http-app.js';
import { makeService, moduleFixture } from '../helpers/module-fixture.js';
import { expectDocumented, registeredRoutes, routeKey } from '../helpers/routes.js';
import { waitFor } from '../helpers/wait-for.js';

const API = '/api/v1/services/svc-1/snapshots';

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
      expect(op.security).toEqual([{ panelSession: [] }]);
    }
    const create = doc.paths['/api/v1/services/{serviceId}/snapshots']!.post as { requestBody: { content: Record<string, { schema: { required: string[] } }> }; responses: Record<string, { description: string }> };
    expect(create.requestBody.content['application/json']!.schema.required).toEqual(['name']);
    expect(create.responses['409']!.description).toContain('`snapshot_limit_reached`');
    expect(create.responses['429']!.description).toContain('`rate_limited`');
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
  let handle: Awaited<ReturnType<typeof migratedDatabase>>;
  let fx: Awaited<ReturnType<typeof moduleFixture>>;

  beforeEach(async () => {
    handle = await migratedDatabase(kind);
    fx = await moduleFixture(handle.db, { services: [makeService(), makeService({ id: 'svc-2', name: 'other', ownerId: 'bob', status: 'suspended' })] });
  });
  afterEach(async () => {
    await fx.mod.stop();
    await handle.destroy();
  });

  it('serves the document without a session, and the router registers exactly the documented routes', async () => {
    const res = await supertest(appFor(fx.mod)).get(OPENAPI_PATH);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/json');
    expect(res.body).toEqual(JSON.parse(JSON.stringify(snapshotApiDocument())));
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const documented = Object.entries(res.body.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => routeKey({ method: m, path: path.replace(/\{(\w+)\}/g, ':$1') })));
    const registered = registeredRoutes(fx.mod.routers.api).map(routeKey);
    expect(registered.sort()).toEqual([...documented, `GET ${OPENAPI_PATH}`].sort());
  });

  it('every answer of a tour through the API, successes and refusals, is a documented status and shape', async () => {
    const api = supertest(appFor(fx.mod));
    const as = (actor: string | null) => ({
      get: (url: string) => (actor ? api.get(url).set('x-test-actor', actor) : api.get(url)),
      send: (method: 'post' | 'patch' | 'delete', url: string, body?: unknown) => {
        const r = api[method](url);
        if (actor) r.set('x-test-actor', actor);
        return body === undefined ? r : r.send(body as object);
      },
    });
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
    const refusals: [typeof d[keyof typeof d], Awaited<ReturnType<typeof alice.get>>, number][] = [
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
});
