import supertest from 'supertest';
import { beforeEach, describe, expect, it } from 'vitest';
import { LimitsRepo } from '../../module/db/limits-repo.js';
import { LIST_PAGE } from '../../module/db/snapshot-list-page.js';
import { DATABASES } from '../helpers/databases.js';
import { useModule } from '../helpers/db-suite.js';
import { appFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';

const SERVICE = makeService();
const PAGE = '/services/svc-1/snapshots';
const API = '/api/v1/services/svc-1/snapshots';
const COUNT = 120;
/** Oldest first: these get pinned; 7 and 30 fall beyond the newest page, 100 on it. */
const PINNED = [7, 30, 100];

const ids = (html: string) => [...html.matchAll(/<tr data-snapshot="(\d+)"/g)].map((m) => Number(m[1]));

describe.each(DATABASES)('a long snapshot list comes a page at a time ($kind)', (kind) => {
  const fx = useModule(kind, { services: [SERVICE] });
  let newestFirst: number[];

  beforeEach(async () => {
    await new LimitsRepo(fx.db).set(SERVICE.planId, { maxSnapshots: 200, maxSchedules: 1, maxKeep: 1, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true });
    const start = Date.now() - COUNT * 60_000;
    await fx.db.batchInsert('snapshot_snapshots', Array.from({ length: COUNT }, (_, i) => ({
      service_id: SERVICE.id, name: `snap ${i}`, hv_name: `psnap-x-${i}`, status: i === 5 ? 'failed' : 'active', pinned: PINNED.includes(i),
      include_memory: false, origin: 'manual', created_at: new Date(start + i * 60_000), updated_at: new Date(start),
    })), 60);
    newestFirst = (await fx.db('snapshot_snapshots').orderBy('created_at', 'desc').pluck('id')).map(Number);
  });

  it('shows the newest page with every pinned one, then older pages, with the quota over all of them', async () => {
    const agent = supertest(appFor(fx.mod));
    const first = await agent.get(PAGE).set('x-test-actor', 'alice');
    expect(first.status).toBe(200);
    const pinnedIds = PINNED.map((i) => newestFirst[COUNT - 1 - i]!);
    expect(ids(first.text)).toEqual([...newestFirst.slice(0, LIST_PAGE), pinnedIds[1], pinnedIds[0]]);
    // 119 take storage (one failed): the quota counts every snapshot, not the page's.
    expect(first.text).toContain('Snapshots left: 81 of 200');
    expect(first.text).toContain('Showing the newest snapshots and every pinned one');
    const older = /href="([^"]+)" rel="next"/.exec(first.text)![1]!;
    expect(older).toBe(`${PAGE}?before=${newestFirst[LIST_PAGE - 1]}`);

    const second = await agent.get(older).set('x-test-actor', 'alice');
    expect(ids(second.text)).toEqual(newestFirst.slice(LIST_PAGE, 2 * LIST_PAGE));
    expect(second.text).toContain(`href="${PAGE}"`);
    const third = await agent.get(/href="([^"]+)" rel="next"/.exec(second.text)![1]!).set('x-test-actor', 'alice');
    expect(ids(third.text)).toEqual(newestFirst.slice(2 * LIST_PAGE));
    expect(third.text).not.toContain('rel="next"');

    // A snapshot far down the list still has its own pages (restore, edit, delete).
    const old = newestFirst[COUNT - 3]!;
    expect((await agent.get(`${PAGE}/${old}/edit`).set('x-test-actor', 'alice')).status).toBe(200);
    expect((await agent.get(`${PAGE}?before=abc`).set('x-test-actor', 'alice')).status).toBe(422);
  });

  it('pages the API list with before and limit, each page newest first, with no repeats', async () => {
    const agent = supertest(appFor(fx.mod));
    const seen: number[] = [];
    let before: number | null = null;
    for (let pages = 0; pages < 5; pages++) {
      const res: supertest.Response = await agent.get(`${API}?limit=40${before ? `&before=${before}` : ''}`).set('x-test-actor', 'alice');
      expect(res.status).toBe(200);
      expect(res.body.quota).toMatchObject({ used: COUNT - 1, limit: 200 });
      seen.push(...res.body.snapshots.map((s: { id: number }) => s.id));
      before = res.body.page.olderBefore;
      if (before === null) break;
      expect(res.body.snapshots).toHaveLength(40);
    }
    expect(seen).toEqual(newestFirst);
    const plain = await agent.get(API).set('x-test-actor', 'alice');
    expect(plain.body.snapshots).toHaveLength(LIST_PAGE);
    expect(plain.body.page).toEqual({ limit: LIST_PAGE, olderBefore: newestFirst[LIST_PAGE - 1] });
    expect((await agent.get(`${API}?limit=500`).set('x-test-actor', 'alice')).status).toBe(422);
  });
});
