import supertest from 'supertest';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ApiRouteDoc } from '../../module/http/api/openapi.js';
import { openapiRoutes } from '../../module/http/api/routes.js';
import { allSnapshotsOpenapiRoutes } from '../../module/http/api/all-snapshots-routes.js';
import { cloneOpenapiRoutes } from '../../module/http/api/clone-routes.js';
import { scheduleOpenapiRoutes } from '../../module/http/api/schedule-routes.js';
import { DATABASES } from '../helpers/databases.js';
import { useModule } from '../helpers/db-suite.js';
import { appFor, sessionFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';
import { expectDocumented, registeredRoutes, routeKey } from '../helpers/routes.js';
import { waitFor } from '../helpers/wait-for.js';

// Every route checks the actor may act on that service. Each route below is requested by
// six kinds of actor; the table must list every route the module's client and API routers register,
// so a new route cannot ship without its row.
const LOGIN = '/login?next=back';
const OWN = makeService({ id: 'svc-own', name: 'web-01', ownerId: 'alice', resellerId: 'rex' });
const FAR = makeService({ id: 'svc-far', name: 'far-01', ownerId: 'alice', resellerId: 'zed' });
const BOBS = makeService({ id: 'svc-bob', name: 'bob-01', ownerId: 'bob' });

type Kind = 'owner' | 'otherCustomer' | 'resellerOfOwner' | 'otherReseller' | 'admin' | 'anonymous';
const CASES: { kind: Kind; actor: string | null; service: typeof OWN; allowed: boolean }[] = [
  { kind: 'owner', actor: 'alice', service: OWN, allowed: true },
  { kind: 'otherCustomer', actor: 'bob', service: OWN, allowed: false },
  { kind: 'resellerOfOwner', actor: 'reseller', service: OWN, allowed: true },
  { kind: 'otherReseller', actor: 'reseller', service: FAR, allowed: false },
  { kind: 'admin', actor: 'admin', service: OWN, allowed: true },
  { kind: 'anonymous', actor: null, service: OWN, allowed: false },
];

interface RouteRow {
  area: 'client' | 'api';
  /** What a permitted actor gets. */
  ok: number;
  /** Form fields (client) or JSON body (API); a function of the target service. */
  body?: (service: typeof OWN) => Record<string, unknown>;
  /** Changes state: denied requests must leave the snapshots and schedules tables as they were. */
  mutates?: boolean;
  /** Creates a snapshot or schedule: denied requests must not add one. */
  creates?: boolean;
  /** A query string the route needs to answer `ok`. */
  query?: string;
}

const P = '/services/:serviceId/snapshots';
const A = '/api/v1/services/:serviceId/snapshots';
const PS = `${P}/schedules`;
const AS = '/api/v1/services/:serviceId/schedules';
const SCHEDULE_FORM = () => ({ name: 'nightly', days: ['1', '4'], hour: '3', minute: '30', timezone: 'Asia/Seoul', keep: '2' });
const ROUTES: Record<string, RouteRow> = {
  [`GET ${P}`]: { area: 'client', ok: 200 },
  [`POST ${P}`]: { area: 'client', ok: 303, body: () => ({ name: 'from form' }), creates: true },
  [`POST ${P}/:id/pin`]: { area: 'client', ok: 303, body: () => ({ pinned: '1' }), mutates: true },
  [`GET ${P}/:id/edit`]: { area: 'client', ok: 200 },
  [`POST ${P}/:id/edit`]: { area: 'client', ok: 303, body: () => ({ name: 'renamed', description: 'd' }), mutates: true },
  [`GET ${P}/:id/delete`]: { area: 'client', ok: 200 },
  [`POST ${P}/:id/delete`]: { area: 'client', ok: 303, body: () => ({ confirm: '1' }), mutates: true },
  [`GET ${P}/:id/restore`]: { area: 'client', ok: 200 },
  [`POST ${P}/:id/restore`]: { area: 'client', ok: 303, body: (s) => ({ typedServiceName: s.name }), mutates: true },
  [`GET ${A}`]: { area: 'api', ok: 200 },
  [`GET ${A}/:id`]: { area: 'api', ok: 200 },
  [`POST ${A}`]: { area: 'api', ok: 202, body: () => ({ name: 'from api' }), creates: true },
  [`PATCH ${A}/:id`]: { area: 'api', ok: 200, body: () => ({ name: 'renamed' }), mutates: true },
  [`POST ${A}/:id/pin`]: { area: 'api', ok: 200, body: () => ({ pinned: true }), mutates: true },
  [`DELETE ${A}/:id`]: { area: 'api', ok: 202, body: () => ({ confirm: true }), mutates: true },
  [`POST ${A}/:id/restore`]: { area: 'api', ok: 202, body: (s) => ({ typedServiceName: s.name }), mutates: true },
  [`GET ${PS}`]: { area: 'client', ok: 200 },
  [`POST ${PS}`]: { area: 'client', ok: 303, body: SCHEDULE_FORM, creates: true },
  [`GET ${PS}/:scheduleId/edit`]: { area: 'client', ok: 200 },
  [`POST ${PS}/:scheduleId/edit`]: { area: 'client', ok: 303, body: () => ({ ...SCHEDULE_FORM(), name: 'renamed', hour: '5' }), mutates: true },
  [`GET ${PS}/:scheduleId/delete`]: { area: 'client', ok: 200 },
  [`POST ${PS}/:scheduleId/delete`]: { area: 'client', ok: 303, body: () => ({ confirm: '1' }), mutates: true },
  [`POST ${PS}/:scheduleId/enabled`]: { area: 'client', ok: 303, body: () => ({ enabled: '0' }), mutates: true },
  [`GET ${P}/activity`]: { area: 'client', ok: 200 },
  [`GET ${AS}`]: { area: 'api', ok: 200 },
  [`POST ${AS}`]: { area: 'api', ok: 201, body: () => ({ name: 'nightly', days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 2 }), creates: true },
  [`GET ${AS}/preview`]: { area: 'api', ok: 200, query: '?days=1,4&hour=3&minute=30&timezone=UTC&keep=2' },
  [`GET ${AS}/:scheduleId`]: { area: 'api', ok: 200 },
  [`PATCH ${AS}/:scheduleId`]: { area: 'api', ok: 200, body: () => ({ hour: 5, enabled: false }), mutates: true },
  [`DELETE ${AS}/:scheduleId`]: { area: 'api', ok: 204, mutates: true },
  ['GET /api/v1/services/:serviceId/activity']: { area: 'api', ok: 200 },
  // New server from a snapshot: the panel's order page takes over (the fixture's order hook answers /orders/new).
  [`GET ${P}/:id/new-server`]: { area: 'client', ok: 200 },
  [`POST ${P}/:id/new-server`]: { area: 'client', ok: 303, body: () => ({}), mutates: true },
  [`POST ${A}/:id/new-server`]: { area: 'api', ok: 200, body: () => ({}), mutates: true },
  // No clone made this service: its own 404, told apart from another's service by the code.
  ['GET /api/v1/services/:serviceId/clone']: { area: 'api', ok: 404 },
};
// Public documentation: the same answer for everyone (checked in openapi.test.ts).
const PUBLIC = new Set(['GET /api/v1/openapi.json']);
// Routes across services (no :serviceId): everyone logged in gets 200 with the services they may
// see, whatever the panel's listServices returns (the fixture's lists every service to everyone).
const ACROSS: Record<string, { area: 'client' | 'api'; sees: Record<string, string[]> }> = {};
for (const key of ['GET /snapshots', 'GET /api/v1/snapshots']) {
  ACROSS[key] = {
    area: key.includes('/api/') ? 'api' : 'client',
    sees: { alice: [OWN.name, FAR.name], bob: [BOBS.name], reseller: [OWN.name], admin: [OWN.name, FAR.name, BOBS.name] },
  };
}

const API_DOCS = new Map<string, ApiRouteDoc>([...openapiRoutes, ...scheduleOpenapiRoutes, ...allSnapshotsOpenapiRoutes, ...cloneOpenapiRoutes].map((d) => [routeKey(d), d]));

describe.each(DATABASES)('route × role × ownership matrix ($kind)', (kind) => {
  const fx = useModule(kind, {
    services: [OWN, FAR, BOBS], loginUrl: LOGIN,
    panel: { listServices: () => [OWN, FAR, BOBS], orderServerFromSnapshot: () => ({ continueUrl: '/orders/new' }) },
    config: { defaultLimits: { maxSnapshots: 500, maxSchedules: 50, maxKeep: 10, memoryAllowed: true, schedulesAllowed: true } },
  });
  const tokens = new Map<string, { agent: ReturnType<typeof supertest.agent>; token: string }>();

  beforeEach(async () => {
    await fx.mod.start();
    tokens.clear();
    // Each actor's CSRF token, from a page they may see: the matrix tests ownership, not CSRF.
    for (const [actor, page] of [['alice', OWN], ['bob', BOBS], ['reseller', OWN], ['admin', OWN]] as const) {
      const s = await sessionFor(fx.mod, actor, `/services/${page.id}/snapshots`);
      expect(s.token, actor).not.toBe('');
      tokens.set(actor, { agent: s.agent, token: s.token });
    }
  });

  /** A fresh active snapshot on `service`, with its queue idle, so every case starts alike. */
  async function freshSnapshot(service: typeof OWN): Promise<number> {
    const s = await fx.mod.snapshots.create(service, { name: `s-${Date.now()}` }, { actor: { type: 'system' } });
    await waitFor(async () => (await fx.db('snapshot_snapshots').where({ id: s.id }).first())?.status === 'active', 5000, 'snapshot active');
    await waitFor(async () => Number((await fx.db('snapshot_operations').whereIn('status', ['queued', 'running']).count({ n: '*' }).first())?.n) === 0, 5000, 'queue idle');
    return s.id;
  }

  /** A fresh enabled schedule on `service`. */
  async function freshSchedule(service: typeof OWN): Promise<number> {
    const raw = { name: `w-${Date.now()}`, days: [2], hour: 4, minute: 0, timezone: 'UTC', keep: 2 };
    return (await fx.mod.schedules.create(service, raw, { actor: { type: 'system' } })).id;
  }
  /** The URL of `pattern` on `service`, with a fresh snapshot or schedule for its id parameter. */
  async function urlFor(pattern: string, service: typeof OWN): Promise<string> {
    const id = pattern.includes(':id') ? await freshSnapshot(service) : 0;
    const scheduleId = pattern.includes(':scheduleId') ? await freshSchedule(service) : 0;
    return pattern.replace(':serviceId', service.id).replace(':id', String(id)).replace(':scheduleId', String(scheduleId));
  }
  /** What a refused request must leave untouched. */
  /**
   * The rows a refused request must not touch, read once the hypervisor work an allowed request
   * queued has finished (a create ending would otherwise change a row between the two reads).
   */
  const state = async () => {
    await waitFor(async () => (Number((await fx.db('snapshot_operations').whereIn('status', ['queued', 'running']).count({ n: '*' }).first())!.n) === 0 ? true : undefined), 10_000, 'operations settled');
    return {
      snapshots: await fx.db('snapshot_snapshots').orderBy('id').select(),
      schedules: await fx.db('snapshot_schedules').orderBy('id').select(),
    };
  };

  it('lists every route the client and API routers register', () => {
    const registered = [...registeredRoutes(fx.mod.routers.client), ...registeredRoutes(fx.mod.routers.api)].map(routeKey);
    const missing = registered.filter((k) => !(k in ROUTES) && !(k in ACROSS) && !PUBLIC.has(k));
    expect(missing, 'routes without a row in the matrix').toEqual([]);
    expect([...Object.keys(ROUTES), ...Object.keys(ACROSS)].filter((k) => !registered.includes(k)), 'rows for routes that no longer exist').toEqual([]);
  });

  for (const [key, row] of Object.entries(ACROSS)) {
    const [, path] = key.split(' ') as [string, string];
    it(`${key}: each actor sees exactly the services they may see; anonymous ${row.area === 'client' ? 'goes to login' : 'gets 401'}`, async () => {
      const everyone = [OWN.name, FAR.name, BOBS.name];
      for (const [actor, sees] of Object.entries(row.sees)) {
        const res = row.area === 'api'
          ? await supertest(appFor(fx.mod)).get(path).set('x-test-actor', actor)
          : await tokens.get(actor)!.agent.get(path);
        expect(res.status, actor).toBe(200);
        if (row.area === 'api') expectDocumented(API_DOCS.get(key)!, res);
        for (const name of everyone) expect(res.text.includes(name), `${actor} and ${name}`).toBe(sees.includes(name));
      }
      const anonymous = await supertest(appFor(fx.mod)).get(path);
      expect(anonymous.status).toBe(row.area === 'client' ? 302 : 401);
      if (row.area === 'client') expect(anonymous.headers.location).toBe(LOGIN);
    });
  }

  for (const [key, row] of Object.entries(ROUTES)) {
    const [method, pattern] = key.split(' ') as [string, string];
    it(`${key}: owner, their reseller and admin pass; other customers and resellers get 404; anonymous ${row.area === 'client' ? 'goes to login' : 'gets 401'}`, async () => {
      const results: string[] = [];
      for (const c of CASES) {
        const url = `${await urlFor(pattern, c.service)}${row.query ?? ''}`;
        const before = await state();
        const res = await send(c.actor, method, url, row, c.service);
        const expected = c.allowed ? row.ok : c.actor === null ? (row.area === 'client' ? 302 : 401) : 404;
        results.push(`${c.kind}: ${res.status}${res.status === expected ? '' : ` (expected ${expected})`}`);
        if (row.area === 'api') expectDocumented(API_DOCS.get(key)!, res);
        if (c.allowed) continue;
        if (c.actor === null && row.area === 'client') expect(res.headers.location).toBe(LOGIN);
        if (c.actor === null && row.area === 'api') expect(res.body.error.code).toBe('not_logged_in');
        if (c.actor !== null) {
          // Not found, without a word about the service.
          expect(res.text).not.toContain(c.service.name);
          if (row.area === 'api') expect(res.body.error.code).toBe('service_not_found');
        }
        if (row.mutates || row.creates) expect(await state(), `${c.kind}: ${url}`).toEqual(before);
      }
      expect(results.filter((r) => r.includes('expected')), results.join('; ')).toEqual([]);
    });
  }

  async function send(actor: string | null, method: string, url: string, row: RouteRow, service: typeof OWN) {
    const body = row.body?.(service);
    if (row.area === 'api') {
      const req = supertest(appFor(fx.mod))[method.toLowerCase() as 'get'](url);
      if (actor) req.set('x-test-actor', actor);
      return body ? req.send(body) : req;
    }
    if (!actor) {
      const req = supertest(appFor(fx.mod))[method.toLowerCase() as 'get'](url);
      return body ? req.type('form').send(body) : req;
    }
    const { agent, token } = tokens.get(actor)!;
    const req = agent[method.toLowerCase() as 'get'](url);
    return body ? req.type('form').send({ _csrf: token, ...body }) : req;
  }

  it('every state-changing form refuses a missing, forged or another user\'s CSRF token with a localized 403 and changes nothing', async () => {
    const posts = registeredRoutes(fx.mod.routers.client).filter((r) => r.method === 'POST');
    expect(posts.length).toBeGreaterThanOrEqual(9);
    const bob = tokens.get('bob')!;
    const aliceToken = tokens.get('alice')!.token;
    for (const route of posts) {
      const url = await urlFor(route.path, BOBS);
      const body = ROUTES[routeKey(route)]?.body?.(BOBS) ?? {};
      const before = await state();
      for (const [label, token] of [['missing', undefined], ['forged', 'forged-token'], ['alice\'s', aliceToken]] as const) {
        const res = await bob.agent.post(url).type('form').send(token === undefined ? body : { ...body, _csrf: token });
        expect(res.status, `${route.path} with ${label} token`).toBe(403);
        // bob's language is Korean.
        expect(res.text, `${route.path} with ${label} token`).toContain('양식이 만료되었습니다');
        expect(res.headers['content-type']).toContain('text/html');
      }
      expect(await state(), route.path).toEqual(before);
    }
  });
});
