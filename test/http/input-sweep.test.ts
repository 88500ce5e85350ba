import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ApiRouteDoc } from '../../module/http/api/openapi.js';
import { openapiRoutes } from '../../module/http/api/routes.js';
import { scheduleOpenapiRoutes } from '../../module/http/api/schedule-routes.js';
import { webhookRoute } from '../../module/http/webhook/routes.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { DATABASES, migratedDatabase, type TestDatabase } from '../helpers/databases.js';
import { appFor } from '../helpers/http-app.js';
import { makeService, moduleFixture } from '../helpers/module-fixture.js';
import { expectDocumented, registeredRoutes, routeKey } from '../helpers/routes.js';
import { waitFor } from '../helpers/wait-for.js';

// Project rule: bad input always gets a clear, localized error and never loses data or returns a 500.
// Every route the four routers register gets malformed path ids, query values, form and JSON fields
// and whole bodies. Fields come from the API's zod schemas and from the forms the pages render. The
// actors are admins (allowed on any service) with no language of their own, so `?lng=ko` must make
// every message Korean; a fresh admin id every 15 requests keeps the real per-user rate limit of
// create and restore (20 a minute) from answering before the validation does.
const SVC = makeService({ planId: 'basic' });
const SECRET = 'sweep-webhook-secret-0123456789abcdefghij';
const AREAS = ['client', 'admin', 'api', 'webhook'] as const;
type Area = (typeof AREAS)[number];
interface Route { area: Area; method: string; path: string }
interface Sent { label: string; method: string; url: string; type?: string; body?: string | Buffer; headers?: Record<string, string> }

const DOCS = new Map<string, ApiRouteDoc>([...openapiRoutes, ...scheduleOpenapiRoutes, webhookRoute].map((d) => [routeKey(d), d]));
const TABLES = ['snapshot_snapshots', 'snapshot_schedules', 'snapshot_operations', 'snapshot_plan_limits', 'snapshot_services'];

const read = (lng: string, ns: string) => JSON.parse(readFileSync(new URL(`../../locales/${lng}/${ns}.json`, import.meta.url), 'utf8'));
const shown = (lng: string): string[] => [...Object.values(read(lng, 'errors')), ...Object.values(read(lng, 'admin').field_error)] as string[];
const KO_CODES: Record<string, string> = { ...read('ko', 'billing').errors, ...read('ko', 'errors') };
const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A message template as a pattern: its placeholders match anything. */
const pattern = (t: string, any: string) => t.split(/\{\{\w+\}\}/).map(literal).join(any);
const KO_HTML = new RegExp(shown('ko').map((t) => pattern(escapeHtml(t), '[^<]*?')).join('|'));
const EN_HTML = shown('en').flatMap((t) => escapeHtml(t).split(/\{\{\w+\}\}/)).filter((chunk) => chunk.length >= 12);
const koJson = (code: string) => (KO_CODES[code] ? new RegExp(`^${pattern(KO_CODES[code], '[\\s\\S]*?')}$`) : null);

// Node refuses request heads over 16 kB (431) before any router sees them, so URLs carry 8 kB.
const PATH_VALUES = ['1e309', '-1', '0x10', '0', '1.5', '9'.repeat(20), '%C3%28', '%', '%00', 'a%2Fb', 'x'.repeat(8_000)];
const queryValues = (n: string) => [`${n}=1&${n}=2`, `${n}[]=a&${n}[]=b`, `${n}[x]=1`, `${n}=`, `${n}=${'x'.repeat(8_000)}`, `${n}=a%00b%07%1B`, `${n}=%C3%28`, `${n}=%`];
const LONG = 'x'.repeat(100_000);
const formValues = (f: string) => [`${f}[]=a&${f}[]=b`, `${f}=a&${f}=b`, `${f}[x]=1`, `${f}=`, `${f}=${LONG}`, `${f}=${'y'.repeat(20_001)}`,
  `${f}=a%00b%07%1B%7F`, `${f}=%C3%28`, `${f}=%`, `${f}=%E2%80%AE`, `${f}=http%3A%2F%2F%5B`];
const JSON_VALUES: unknown[] = [1, -1, 1.5, 1e308, true, 'true', '', null, ['a'], {}, { toString: 1 }, LONG, 'a\u0000b\u0007', '\ud800'];
const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';
const BAD_UTF8 = Buffer.from([0xc3, 0x28, 0xff]);

/** Field values that pass their own checks; a destructive route's confirmations deliberately do not. */
const GOOD_FORM: Record<string, string> = {
  name: 'ok', pinned: '1', confirm: '', typedName: 'not its name', typedServiceName: 'not its name', days: '1', hour: '3', minute: '0',
  timezone: 'UTC', keep: '2', enabled: '1', maxSnapshots: '50', maxSchedules: '5', maxKeep: '5',
};
let eventIds = 0;
const goodJson = (fields: string[]): Record<string, unknown> => {
  const all: Record<string, unknown> = {
    name: 'ok', includeMemory: false, pinned: true, confirm: true, typedName: 'not its name', typedServiceName: 'not its name', safetySnapshot: false,
    days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 2, enabled: true,
    event: 'plan.before_change', eventId: `evt-${++eventIds}`, serviceId: SVC.id, newPlanId: 'basic', newDiskBytes: 1, locale: 'ko',
  };
  return Object.fromEntries(fields.filter((f) => f in all).map((f) => [f, all[f]]));
};

/** Forms take a body; the API and the webhook where their document gives one. */
const takesBody = (r: Route) => r.method !== 'GET' && (r.area === 'client' || r.area === 'admin' || !!DOCS.get(routeKey(r))?.body);

/** A zod body's field names (each variant of a discriminated union). */
const fieldsOf = (s: z.ZodType | undefined): string[] => s instanceof z.ZodObject ? Object.keys(s.shape)
  : s instanceof z.ZodDiscriminatedUnion ? [...new Set(s.options.flatMap((o) => fieldsOf(o as z.ZodType)))] : [];

/** Every form of a page: where it goes, how, and the names of its fields. */
const formsOn = (html: string) => [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map(([, attrs, inner]) => ({
  action: (/action="([^"?]*)/.exec(attrs!)?.[1] ?? '').replace(/&amp;/g, '&'),
  method: (/method="(\w+)"/.exec(attrs!)?.[1] ?? 'get').toUpperCase(),
  fields: [...new Set([...inner!.matchAll(/<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"/g)].map((m) => m[1]!))].filter((n) => n !== '_csrf'),
}));
const matches = (pattern: string, path: string) => new RegExp(`^${pattern.split(/:\w+/).map(literal).join('[^/]+')}$`).test(path);

async function fixture(kind: TestDatabase) {
  const handle = await migratedDatabase(kind);
  const fx = await moduleFixture(handle.db, {
    services: [SVC],
    panel: {
      listPlans: () => [{ id: 'basic', name: 'Basic' }],
      // New servers from snapshots are offered, so their routes are swept past the not-offered 404.
      orderServerFromSnapshot: () => ({ continueUrl: '/orders/new' }),
      getActor: (req) => (req.get('x-test-actor')?.startsWith('sweep-') ? { id: req.get('x-test-actor')!, role: 'admin', timezone: 'Asia/Seoul' } : null),
    },
    config: { webhookSecret: SECRET, defaultLimits: { maxSnapshots: 500, maxSchedules: 50, maxKeep: 10, memoryAllowed: true, schedulesAllowed: true } },
  });
  const ctx = { actor: { type: 'system' as const } };
  await fx.mod.start();
  const status = async (id: number, want: string) => (await handle.db('snapshot_snapshots').where({ id }).first())?.status === want;
  const snap = await fx.mod.snapshots.create(SVC, { name: 'keep me' }, ctx);
  await waitFor(() => status(snap.id, 'active'), 5_000, 'snapshot active');
  // A failed create, for the admin's retry.
  (fx.driver as SimulatedDriver).injectFailure({ operation: 'create', code: 'rejected' });
  const failed = await fx.mod.snapshots.create(SVC, { name: 'failed' }, ctx);
  await waitFor(() => status(failed.id, 'failed'), 5_000, 'snapshot failed');
  await fx.mod.snapshots.setPinned(SVC, snap.id, true, ctx);
  const schedule = await fx.mod.schedules.create(SVC, { name: 'weekly', days: [2], hour: 4, minute: 0, timezone: 'UTC', keep: 2 }, ctx);
  // Nothing runs in the background from here on, so any row that changes was changed by a request.
  await fx.mod.stop();
  const op = await handle.db('snapshot_operations').where({ snapshot_id: failed.id }).first();
  const ids: Record<string, string> = { serviceId: SVC.id, id: String(snap.id), scheduleId: String(schedule.id), planId: 'basic' };
  return {
    app: appFor(fx.mod), mod: fx.mod, ids,
    url: (path: string, over: Record<string, string> = {}) => path.replace(/:(\w+)/g, (_, p: string) =>
      over[p] ?? (p === 'id' && path.includes('/operations/') ? String(op.id) : ids[p]!)),
    state: () => Promise.all(TABLES.map((t) => handle.db(t).select().orderByRaw('1'))),
    destroy: () => handle.destroy(),
  };
}
type Fixture = Awaited<ReturnType<typeof fixture>>;

/** The malformed requests for one route: path ids, query values, then fields and bodies. */
function* sweep(r: Route, fx: Fixture, fields: string[], queryNames: string[]): Generator<Sent> {
  const json = r.area === 'api' || r.area === 'webhook';
  const hasBody = takesBody(r);
  const formOf = (over: Record<string, string> = {}) => fields.map((f) => over[f] ?? `${f}=${encodeURIComponent(GOOD_FORM[f] ?? '')}`).join('&');
  const good = (): Sent['body'] => (!hasBody ? undefined : json ? JSON.stringify(goodJson(fields)) : formOf());
  const type = hasBody ? (json ? JSON_TYPE : FORM) : undefined;
  const at = (label: string, url: string, body = good(), t = type, headers?: Record<string, string>): Sent =>
    ({ label, method: r.method, url: `${url}${url.includes('?') ? '&' : '?'}lng=ko`, body, type: t, headers });
  for (const p of r.path.match(/(?<=:)\w+/g) ?? []) for (const v of PATH_VALUES) yield at(`:${p}=${v.slice(0, 20)}`, fx.url(r.path, { [p]: v }));
  const url = fx.url(r.path);
  for (const n of queryNames) for (const q of queryValues(n)) yield at(`?${q.slice(0, 30)}`, `${url}?${q}`);
  if (!hasBody) return;
  const withBadBytes = (text: string) => Buffer.concat([Buffer.from(text.split('@@')[0]!), BAD_UTF8, Buffer.from(text.split('@@')[1]!)]);
  if (json) {
    for (const f of fields) for (const v of JSON_VALUES) yield at(`${f}: ${JSON.stringify(v).slice(0, 20)}`, url, JSON.stringify({ ...goodJson(fields), [f]: v }));
    const extra = Object.assign(JSON.parse('{"__proto__":{"admin":true},"constructor":{"prototype":{}},"zzz":1}'), goodJson(fields));
    yield at('unknown fields', url, JSON.stringify(extra));
    yield at('invalid UTF-8 bytes', url, withBadBytes(JSON.stringify({ ...goodJson(fields), [fields[0] ?? 'zzz']: '@@' })));
    yield at('JSON as text/plain', url, good(), 'text/plain');
    yield at('form body', url, 'name=x&pinned=1', FORM);
  } else {
    for (const f of fields) for (const v of formValues(f)) yield at(`${v.slice(0, 24)}`, url, formOf({ [f]: v }));
    const typed = Object.fromEntries(fields.map((f) => [f, GOOD_FORM[f] ?? '']));
    for (const f of fields) for (const v of [1, true, null, ['a'], {}, { toString: 1 }]) yield at(`JSON ${f}: ${JSON.stringify(v)}`, url, JSON.stringify({ ...typed, [f]: v }), JSON_TYPE);
    yield at('unknown fields', url, `${formOf()}&zzz=1&toString=1&hasOwnProperty=1&__proto__[x]=1&constructor[prototype]=1`);
    yield at('1,001 fields', url, Array.from({ length: 1_001 }, (_, i) => `f${i}=1`).join('&'));
    yield at('invalid UTF-8 bytes', url, withBadBytes(`${formOf()}&${fields[0] ?? 'zzz'}=@@`));
    yield at('form as text/plain', url, formOf(), 'text/plain');
  }
  for (const [label, body] of [['JSON null', 'null'], ['JSON string', '"x"'], ['JSON array', '["a"]'], ['malformed JSON', '{"a":'], ['empty JSON', '']]) {
    yield at(label!, url, body, JSON_TYPE);
  }
  yield at('gzip header, plain body', url, good(), type, { 'content-encoding': 'gzip' });
}

/** Below 500; a refusal says why in Korean: JSON with a stable (documented) code, or a page without English. */
function expectClearRefusal(json: boolean, doc: ApiRouteDoc | undefined, res: supertest.Response) {
  expect(res.status).toBeLessThan(500);
  if (doc) expectDocumented(doc, res);
  if (res.status < 400) return;
  if (json) {
    expect(res.headers['content-type']).toContain('application/json');
    expect(res.body.error.code).toMatch(/^[a-z][a-z0-9_]*$/);
    const fields = Object.values(res.body.error.fields ?? {}) as { code: string; message: string }[];
    for (const { code, message } of [res.body.error, ...fields]) expect(message).toMatch(koJson(code) ?? /no Korean message for this code/);
  } else {
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.text).toMatch(KO_HTML);
    expect(EN_HTML.filter((chunk) => res.text.includes(chunk))).toEqual([]);
  }
}

describe.each(DATABASES)('malformed input on every route ($kind)', (kind) => {
  for (const area of AREAS) {
    const json = area === 'api' || area === 'webhook';
    it(`every ${area} route answers malformed input below 500, ${json ? 'as JSON with a stable code and' : 'with'} a Korean message, `
      + 'and a refused request changes no row', async () => {
      const problems: string[] = [];
      const first = await fixture(kind);
      const routes: Route[] = registeredRoutes(first.mod.routers[area]).map((r) => ({ ...r, area }));
      // The forms the pages render, by the route they post (or get) to.
      const formsAt = async (url: string) => formsOn((await supertest(first.app).get(url).set('x-test-actor', 'sweep-0')).text);
      const forms = json ? [] : (await Promise.all(routes.filter((r) => r.method === 'GET').map((r) => formsAt(first.url(r.path))))).flat();
      // A search form for a fixture's id (the admin's service lookup) leads to more forms.
      for (const f of forms.filter((f) => f.method === 'GET' && f.fields.some((n) => n in first.ids))) {
        forms.push(...await formsAt(`${f.action}?${f.fields.filter((n) => n in first.ids).map((n) => `${n}=${first.ids[n]}`).join('&')}`));
      }
      await first.destroy();
      let requests = 0;
      for (const route of routes) {
        const doc = DOCS.get(routeKey(route));
        const own = forms.filter((f) => f.method === route.method && matches(route.path, f.action));
        const fields = json ? fieldsOf(doc?.body) : [...new Set(own.flatMap((f) => f.fields))];
        const queryNames = route.method !== 'GET' ? [] : json ? Object.keys(doc?.query?.shape ?? {})
          : [...new Set(['flash', 'back', 'page', 'size', 'before', ...forms.filter((f) => f.method === 'GET' && matches(route.path, f.action)).flatMap((f) => f.fields)])];
        const fx = await fixture(kind);
        let session: { agent: ReturnType<typeof supertest.agent>; token: string } | null = null;
        const statuses = new Set<number>();
        for (const sent of sweep(route, fx, fields, queryNames)) {
          if (requests++ % 15 === 0 || !session) {
            const agent = supertest.agent(fx.app).set('x-test-actor', `sweep-${requests}`);
            const page = await agent.get(`/services/${SVC.id}/snapshots?lng=ko`);
            session = { agent, token: /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '' };
          }
          const before = sent.method === 'GET' ? null : await fx.state();
          const req = session.agent[sent.method.toLowerCase() as 'post'](sent.url).set('x-csrf-token', session.token);
          for (const [k, v] of Object.entries(sent.headers ?? {})) req.set(k, v);
          if (area === 'webhook') {
            const ts = String(Math.floor(Date.now() / 1000));
            req.set('x-snapshots-timestamp', ts).set('x-snapshots-signature', createHmac('sha256', SECRET).update(`${ts}.`).update(sent.body ?? '').digest('hex'));
          }
          if (sent.type) req.set('content-type', sent.type);
          const res = await (sent.body === undefined ? req : req.send(sent.body));
          statuses.add(res.status);
          const label = `${sent.method} ${route.path} [${sent.label}] → ${res.status}`;
          try {
            expectClearRefusal(json, doc, res);
            if (before && res.status >= 400) expect(await fx.state()).toEqual(before);
          } catch (err) {
            problems.push(`${label}: ${String((err as Error).message).split('\n')[0]!.slice(0, 240)}`);
          }
        }
        await fx.destroy();
        // A sweep that never got past the CSRF check, the signature or the body parsers would prove nothing.
        if (takesBody(route) && ![...statuses].some((s) => s < 400 || s === 409 || s === 422)) problems.push(`${routeKey(route)}: only ${[...statuses]}`);
      }
      expect(routes.length).toBeGreaterThan(0);
      expect(problems).toEqual([]);
    }, 900_000);
  }
});
