import { readFileSync } from 'node:fs';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { LimitsRepo } from '../../module/db/limits-repo.js';
import { ServicesRepo } from '../../module/db/services-repo.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import { allSnapshotsRoute } from '../../module/http/api/all-snapshots-routes.js';
import type { PanelService } from '../../module/index.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase, useModule } from '../helpers/db-suite.js';
import { appFor } from '../helpers/http-app.js';
import { ACTORS, makeService } from '../helpers/module-fixture.js';
import { expectDocumented } from '../helpers/routes.js';

const PAGE = '/snapshots';
const API = '/api/v1/snapshots';
// alice's two services (one resold by rex), bob's resold one, bob's own and carol's through another reseller.
const A1 = makeService({ id: 'svc-a1', name: 'alice-web', ownerId: 'alice', resellerId: 'rex' });
const A2 = makeService({ id: 'svc-a2', name: 'alice-db', ownerId: 'alice', planId: 'big' });
const B1 = makeService({ id: 'svc-b1', name: 'bob-resold', ownerId: 'bob', resellerId: 'rex' });
const B2 = makeService({ id: 'svc-b2', name: 'bob-own', ownerId: 'bob' });
const C1 = makeService({ id: 'svc-c1', name: 'carol-far', ownerId: 'carol', resellerId: 'zed' });
const ALL = [A1, A2, B1, B2, C1];

/** A panel whose hook forgets to filter: every service, for everyone. The module must filter. */
const careless = { listServices: () => ALL.map((s) => ({ ...s })) };

const en = JSON.parse(readFileSync(new URL('../../locales/en/snapshots.json', import.meta.url), 'utf8')) as { all: Record<string, unknown> };
/** Every English sentence of the page's own texts: none may show on a Korean or Japanese page. */
const englishTexts = (Object.values(en.all).flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v as Record<string, string>))))
  .map((s) => s.split('{{')[0]!.trim()).filter((s) => s.length > 3);

const names = (text: string) => [...text.matchAll(/class="snapshots-name"[^>]*>([^<]+)</g)].map((m) => m[1]);

describe.each(DATABASES)('All snapshots page and API ($kind)', (kind) => {
  const fx = useModule(kind, { services: ALL, panel: careless });
  const get = (path: string, actor: string) => supertest(appFor(fx.mod)).get(path).set('x-test-actor', actor);

  async function snapshot(service: PanelService, name: string, over: { status?: 'active' | 'failed'; pinned?: boolean; diskBytes?: number } = {}) {
    const repo = new SnapshotsRepo(fx.db);
    const s = await repo.insert({
      serviceId: service.id, name, description: null, hvName: `psnap-${service.id}-${name}`, status: over.status ?? 'active',
      includeMemory: false, origin: 'manual', scheduleId: null, createdBy: null,
    });
    if (over.pinned || over.diskBytes) await repo.update(s.id, { pinned: over.pinned ?? false, diskBytes: over.diskBytes ?? null });
    return s;
  }

  async function seed() {
    await snapshot(A1, 'a1-first', { diskBytes: 3 * 1024 ** 3 });
    await snapshot(A1, 'a1-pinned', { pinned: true });
    await snapshot(A2, 'a2-only');
    await snapshot(B1, 'b1-secret');
    await snapshot(B2, 'b2-secret');
    await snapshot(C1, 'c1-secret');
  }

  it('a customer sees their own services\' snapshots only, even when the hook lists everyone\'s', async () => {
    await seed();
    const res = await get(PAGE, 'alice');
    expect(res.status).toBe(200);
    expect(names(res.text).sort()).toEqual(['a1-first', 'a1-pinned', 'a2-only', 'alice-db', 'alice-web']);
    for (const secret of ['b1-secret', 'b2-secret', 'c1-secret', 'bob-resold', 'bob-own', 'carol-far', 'svc-b1', 'svc-c1']) expect(res.text).not.toContain(secret);
    // Links to each service's Snapshots page, where the actions are.
    expect(res.text).toContain('href="/services/svc-a1/snapshots"');
    expect(res.text).toContain('aria-label="Manage snapshots of alice-web"');
    expect(res.text).toContain('>3 GB<');
    expect(res.text).not.toContain('/snapshots/1/delete');

    const api = await get(API, 'alice');
    expectDocumented(allSnapshotsRoute, api);
    expect(api.body.services.map((s: { id: string }) => s.id)).toEqual(['svc-a1', 'svc-a2']);
    expect(api.body.snapshots.map((s: { name: string }) => s.name).sort()).toEqual(['a1-first', 'a1-pinned', 'a2-only']);
    expect(api.body.snapshots.find((s: { name: string }) => s.name === 'a1-pinned')).toMatchObject({ serviceId: 'svc-a1', pinned: true });

    const bob = await get(API, 'bob');
    expect(bob.body.services.map((s: { id: string }) => s.id)).toEqual(['svc-b1', 'svc-b2']);
    expect(bob.body.snapshots.map((s: { name: string }) => s.name).sort()).toEqual(['b1-secret', 'b2-secret']);
  });

  it('a reseller sees their customers\' services, not another reseller\'s', async () => {
    await seed();
    const api = await get(API, 'reseller');
    expect(api.status).toBe(200);
    expect(api.body.services.map((s: { id: string }) => s.id)).toEqual(['svc-a1', 'svc-b1']);
    expect(api.body.snapshots.map((s: { name: string }) => s.name).sort()).toEqual(['a1-first', 'a1-pinned', 'b1-secret']);
    const page = await get(PAGE, 'reseller');
    expect(names(page.text).sort()).toEqual(['a1-first', 'a1-pinned', 'alice-web', 'b1-secret', 'bob-resold']);
    for (const secret of ['a2-only', 'b2-secret', 'c1-secret', 'carol-far']) expect(page.text).not.toContain(secret);
  });

  it('drops what a hook gets wrong: malformed entries, repeats, another customer\'s service', async () => {
    const repeated = await fx.module({
      services: ALL,
      panel: { listServices: () => [B2, null, { ...A1, id: '../etc' }, A1, { ...A1 }, 'svc-a2'] as unknown as PanelService[] },
    });
    await snapshot(A1, 'a1-first');
    await snapshot(B2, 'b2-secret');
    const res = await supertest(appFor(repeated.mod)).get(API).set('x-test-actor', 'alice');
    expect(res.status).toBe(200);
    expect(res.body.services.map((s: { id: string }) => s.id)).toEqual(['svc-a1']);
    expect(res.body.snapshots.map((s: { name: string }) => s.name)).toEqual(['a1-first']);
  });

  it('shows each service\'s own quota: its plan\'s limit, what it holds, and no free slots while it is suspended', async () => {
    await new LimitsRepo(fx.db).set('big', { maxSnapshots: 10, maxSchedules: 2, maxKeep: 5, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true });
    await seed();
    await snapshot(A1, 'a1-failed', { status: 'failed' });
    const api = await get(API, 'alice');
    const quota = Object.fromEntries(api.body.services.map((s: { id: string; quota: unknown }) => [s.id, s.quota]));
    // A failed snapshot takes no storage and no slot.
    expect(quota).toEqual({ 'svc-a1': { limit: 3, used: 2, left: 1, over: 0 }, 'svc-a2': { limit: 10, used: 1, left: 9, over: 0 } });
    expect(api.body.services.map((s: { snapshotCount: number }) => s.snapshotCount)).toEqual([3, 1]);
    const page = await get(PAGE, 'alice');
    expect(page.text).toContain('Snapshots left: 1 of 3');
    expect(page.text).toContain('Snapshots left: 9 of 10');

    // Suspended by the billing system: the module's own state, which the panel's record does not show yet.
    const services = new ServicesRepo(fx.db);
    await services.ensure('svc-a1', 'basic');
    await services.update('svc-a1', { suspended: true });
    const suspended = await get(API, 'alice');
    expect(suspended.body.services[0]).toMatchObject({ id: 'svc-a1', status: 'suspended', canCreate: false });
    const text = (await get(PAGE, 'alice')).text;
    expect(text).not.toContain('Snapshots left: 1 of 3');
    expect(text).toContain('Suspended: changes are paused.');
    expect(text).toContain('Snapshots left: 9 of 10');
  });

  it('pages through thousands of snapshots 50 at a time, each service\'s together; a wrong page number is refused', async () => {
    const repo = new SnapshotsRepo(fx.db);
    for (const [service, n] of [[A1, 70], [A2, 50]] as const) {
      const rows = Array.from({ length: n }, (_, i) => ({
        service_id: service.id, name: `${service.id}-${String(i).padStart(3, '0')}`, hv_name: `psnap-${service.id}-${i}`, status: 'active',
        pinned: false, include_memory: false, origin: 'manual', created_at: new Date(Date.UTC(2026, 0, 1, 0, i)), updated_at: new Date(),
      }));
      await fx.db.batchInsert('snapshot_snapshots', rows, 50);
    }
    expect((await repo.listForService('svc-a1')).length).toBe(70);
    const pages = await Promise.all([1, 2, 3, 4].map((n) => get(`${API}?page=${n}`, 'alice')));
    expect(pages.map((p) => p.body.snapshots.length)).toEqual([50, 50, 20, 0]);
    expect(pages[0]!.body.page).toEqual({ page: 1, pageSize: 50, total: 120, pages: 3 });
    const seen = pages.flatMap((p) => p.body.snapshots.map((s: { name: string }) => s.name));
    expect(new Set(seen).size).toBe(120);
    // Newest first within a service, and a service's snapshots together.
    expect(seen.slice(0, 2)).toEqual(['svc-a1-069', 'svc-a1-068']);
    expect(seen[70]).toBe('svc-a2-049');

    const second = await get(`${PAGE}?page=2`, 'alice');
    expect(second.status).toBe(200);
    expect(second.text.match(/data-snapshot=/g)).toHaveLength(50);
    expect(second.text).toContain('Page 2 of 3 (120 snapshots)');
    expect(second.text).toContain('href="/snapshots" rel="prev"');
    expect(second.text).toContain('href="/snapshots?page=3" rel="next"');
    // The service continuing from the previous page is named again above its rows.
    expect(second.text).toContain('data-service="svc-a1"');
    expect(second.text).toContain('data-service="svc-a2"');

    for (const bad of ['0', 'abc', '-1', '1e3']) {
      const res = await get(`${API}?page=${bad}`, 'alice');
      expect(res.status, bad).toBe(422);
      expectDocumented(allSnapshotsRoute, res);
    }
    expect((await get(`${PAGE}?page=abc`, 'alice')).status).toBe(422);
  });

  it('speaks Korean and Japanese without English', async () => {
    await seed();
    const ko = await get(PAGE, 'bob');
    expect(ko.status).toBe(200);
    expect(ko.text).toContain('전체 스냅샷');
    expect(ko.text).toContain('남은 스냅샷: 3개 중 2개');
    expect(ko.text).toContain('bob-resold의 스냅샷 관리');
    const ja = await get(PAGE, 'reseller');
    expect(ja.text).toContain('すべてのスナップショット');
    expect(ja.text).toContain('スナップショットを管理');
    for (const [lng, text] of [['ko', ko.text], ['ja', ja.text]] as const) {
      for (const english of [...englishTexts, 'Snapshots left', 'Manual', 'Current', 'Pinned', 'Created', 'Status']) {
        expect(text, `${lng}: ${english}`).not.toContain(english);
      }
    }
    expect(fx.mod.allSnapshotsItem(ACTORS.bob)).toEqual({ label: '전체 스냅샷', href: '/snapshots' });
    expect(fx.mod.allSnapshotsItem(ACTORS.reseller)?.label).toBe('すべてのスナップショット');
  });

  it('asks anonymous visitors to log in', async () => {
    expect((await supertest(appFor(fx.mod)).get(API)).status).toBe(401);
    expect((await supertest(appFor(fx.mod)).get(PAGE)).status).toBe(401);
  });
});

describe.each(DATABASES)('All snapshots without listServices ($kind)', (kind) => {
  const database = useDatabase(kind);

  it('is not offered: no menu entry, and both addresses are not found', async () => {
    const fx = await database.module({ services: ALL });
    expect(fx.mod.allSnapshotsItem(ACTORS.alice)).toBeNull();
    const api = await supertest(appFor(fx.mod)).get(API).set('x-test-actor', 'alice');
    expect(api.status).toBe(404);
    expect(api.body.error.code).toBe('route_not_found');
    expectDocumented(allSnapshotsRoute, api);
    expect((await supertest(appFor(fx.mod)).get(PAGE).set('x-test-actor', 'alice')).status).toBe(404);
  });

  it('refuses a listServices that is not a function', async () => {
    await expect(database.module({ services: ALL, panel: { listServices: 'all' as never } })).rejects.toThrow(/panel\.listServices/);
  });
});
