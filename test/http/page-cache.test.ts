import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { LimitsRepo } from '../../module/db/limits-repo.js';
import { LIST_PAGE, listPageFingerprint } from '../../module/db/snapshot-list-page.js';
import { DATABASES } from '../helpers/databases.js';
import { useModule } from '../helpers/db-suite.js';
import { appFor, sessionFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';
import { statementsOf } from '../helpers/statements.js';
import { waitFor } from '../helpers/wait-for.js';

const SERVICE = makeService({ ownerId: 'alice' });
const SHARED = makeService({ id: 'svc-2', name: 'shared-02', ownerId: 'bob' });
const PAGE = '/services/svc-1/snapshots';
const ctx = { actor: { type: 'customer' as const, id: 'alice' } };
const tokens = (html: string) => [...html.matchAll(/name="_csrf" value="([^"]+)"/g)].map((m) => m[1]);
/** The page with its CSRF tokens blanked: what must be equal between a rendered and a reused body. */
const withoutTokens = (html: string) => html.replaceAll(/name="_csrf" value="[^"]+"/g, 'name="_csrf" value=""');
/** The fingerprint statement (the service's rows hashed table by table), and the page's own reads. */
const fingerprints = (sql: string[]) => sql.filter((s) => s.startsWith('select (select concat(count(*)'));
const pageReads = (sql: string[]) => sql.filter((s) => s.startsWith('select `s`.*') && s.includes('from (select 1 as one) as anchor'));

describe.each(DATABASES.filter((d) => d.kind === 'mysql'))('the Snapshots page reused while its data is unchanged ($kind)', (kind) => {
  const fx = useModule(kind, { services: [SERVICE, SHARED], panel: { orderServerFromSnapshot: () => ({ continueUrl: '/orders/new' }) } });

  it('answers a second view from the rendered body, with a token of its own in every form, and renders again after any change', async () => {
    await fx.mod.start();
    const snap = await fx.mod.snapshots.create(SERVICE, { name: 'before upgrade', description: null, includeMemory: false }, ctx);
    await fx.mod.snapshots.create(SERVICE, { name: 'second', description: 'R&D <notes>', includeMemory: false }, ctx);
    const { agent } = await sessionFor(fx.mod, 'alice', PAGE);
    await waitIdle(agent);
    const first = await statementsOf(fx.db, () => agent.get(PAGE));
    // Someone else's browser, logged in as the same customer: no CSRF cookie yet, so a new token.
    const other = supertest.agent(appFor(fx.mod)).set('x-test-actor', 'alice');
    const second = await statementsOf(fx.db, () => other.get(PAGE));
    expect(pageReads(first.sql)).toHaveLength(1);
    expect(fingerprints(second.sql)).toHaveLength(1);
    expect(pageReads(second.sql), 'the reused view reads no rows').toHaveLength(0);
    expect(withoutTokens(second.result.text)).toBe(withoutTokens(first.result.text));
    expect(second.result.text).toContain('R&amp;D &lt;notes&gt;');
    // Each response carries its own token, in every form, and it is the one the cookie goes with.
    const own = tokens(second.result.text);
    expect(own.length).toBeGreaterThan(2);
    expect(new Set(own).size).toBe(1);
    expect(own[0]).not.toBe(tokens(first.result.text)[0]);
    const pin = await other.post(`${PAGE}/${snap.id}/pin`).type('form').send({ _csrf: own[0], pinned: 'on' });
    expect(pin.status).toBe(303);

    // The pin, a rename, an operation queued, the plan's limits: each shows at once.
    const pinned = await statementsOf(fx.db, () => agent.get(PAGE));
    expect(pageReads(pinned.sql)).toHaveLength(1);
    expect(pinned.result.text).not.toBe(second.result.text);
    await fx.mod.snapshots.edit(SERVICE, snap.id, { name: 'renamed in the API', description: null }, ctx);
    expect((await agent.get(PAGE)).text).toContain('renamed in the API');
    await fx.db('snapshot_plan_limits').delete();
    await new LimitsRepo(fx.db).set(SERVICE.planId, { maxSnapshots: 9, maxSchedules: 1, maxKeep: 1, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true });
    expect((await agent.get(PAGE)).text).toContain('Snapshots left: 7 of 9');
    await fx.mod.snapshots.delete(SERVICE, snap.id, { confirm: true, typedName: 'renamed in the API' }, ctx);
    const deleting = (await agent.get(PAGE)).text;
    expect(deleting).not.toBe(pinned.result.text);
    await waitIdle(agent);
    expect((await agent.get(PAGE)).text).not.toContain('renamed in the API');
  });

  it('keeps one person\'s page from another, and the panel\'s record of the service is part of it', async () => {
    await fx.mod.start();
    const alice = supertest.agent(appFor(fx.mod)).set('x-test-actor', 'alice');
    const admin = supertest.agent(appFor(fx.mod)).set('x-test-actor', 'admin');
    await fx.mod.snapshots.create(SERVICE, { name: 'mine', description: null, includeMemory: false }, ctx);
    await waitIdle(alice);
    const asAlice = (await alice.get(PAGE)).text;
    const asAdmin = (await admin.get(PAGE)).text;
    expect(withoutTokens(asAdmin)).not.toBe(withoutTokens(asAlice));
    expect(withoutTokens((await alice.get(PAGE)).text)).toBe(withoutTokens(asAlice));
    // Bob (Korean) on his own service, then Alice's page again: still hers, in English.
    const bob = supertest.agent(appFor(fx.mod)).set('x-test-actor', 'bob');
    expect((await bob.get('/services/svc-2/snapshots')).text).toContain('lang="ko"');
    expect((await alice.get(PAGE)).text).toContain('lang="en"');
    // The panel renames the service: nothing in the database changed, and the page follows anyway.
    fx.services.set(SERVICE.id, { ...SERVICE, name: 'web-renamed' });
    expect((await alice.get(PAGE)).text).toContain('web-renamed');
  });

  it('reuses a long list\'s newest page and a new server\'s page, whose reads the fingerprint covers too', async () => {
    const start = Date.now() - 3_600_000;
    await fx.db.batchInsert('snapshot_snapshots', Array.from({ length: LIST_PAGE + 10 }, (_, i) => ({
      service_id: SERVICE.id, name: `snap ${i}`, hv_name: `psnap-x-${i}`, status: 'active', pinned: i === 0,
      include_memory: false, origin: 'manual', created_at: new Date(start + i * 1000), updated_at: new Date(start),
    })), 100);
    await new LimitsRepo(fx.db).set(SERVICE.planId, { maxSnapshots: 100, maxSchedules: 1, maxKeep: 1, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true });
    // svc-1 was ordered as a new server from another service's snapshot: its page reports on that.
    await fx.db('snapshot_clones').insert({
      handover_id: 'h'.repeat(32), source_service_id: 'svc-src', snapshot_id: 1, snapshot_name: 'golden', new_service_id: SERVICE.id,
      dest_target: '{}', status: 'running', created_at: new Date(start),
    });
    const agent = supertest.agent(appFor(fx.mod)).set('x-test-actor', 'alice');
    // Rendered: the newest page with the older pinned one (a second read) and the clone's report.
    const first = await statementsOf(fx.db, () => agent.get(PAGE));
    expect([fingerprints(first.sql).length, pageReads(first.sql).length]).toEqual([1, 2]);
    expect(first.result.text).toContain('data-clone="running"');
    expect(first.result.text).toContain('snap 0');
    // Every table any of the page's statements reads is one the fingerprint hashes.
    const read = new Set(first.sql.filter((q) => !fingerprints([q]).length).flatMap((q) => [...q.matchAll(/(?:from|join) `?(snapshot_\w+)`?/g)].map((m) => m[1]!)));
    expect(read).toContain('snapshot_clones');
    const hashed = new Set(listPageFingerprint(fx.db).parts.map((p) => p.table));
    expect([...read].filter((t) => !hashed.has(t))).toEqual([]);

    const again = await statementsOf(fx.db, () => agent.get(PAGE));
    expect(again.sql.map((q) => fingerprints([q]).length ? 'fingerprint' : q.slice(0, 40))).toEqual(['fingerprint']);
    expect(withoutTokens(again.result.text)).toBe(withoutTokens(first.result.text));
    // The clone ends: the next view says so.
    await fx.db('snapshot_clones').where({ new_service_id: SERVICE.id }).update({ status: 'failed', error_code: 'timeout', finished_at: new Date() });
    expect((await agent.get(PAGE)).text).toContain('data-clone="failed"');
  });

  it('renders every time a page carries a message of its own', async () => {
    const agent = supertest.agent(appFor(fx.mod)).set('x-test-actor', 'alice');
    await agent.get(PAGE);
    const flashed = await statementsOf(fx.db, () => agent.get(`${PAGE}?flash=created`));
    expect(pageReads(flashed.sql)).toHaveLength(1);
    expect(flashed.result.text).toContain('Snapshot requested.');
    expect((await agent.get(PAGE)).text).not.toContain('Snapshot requested.');
  });
});

describe.each(DATABASES.filter((d) => d.kind === 'sqlite'))('the Snapshots page on SQLite ($kind)', (kind) => {
  const fx = useModule(kind, { services: [SERVICE] });

  it('is rendered for every view (no fingerprint to check a kept one against)', async () => {
    const agent = supertest.agent(appFor(fx.mod)).set('x-test-actor', 'alice');
    await agent.get(PAGE);
    const again = await statementsOf(fx.db, () => agent.get(PAGE));
    expect(pageReads(again.sql)).toHaveLength(1);
    expect(fingerprints(again.sql)).toHaveLength(0);
  });
});

/** Until the service has no operation waiting or running (the page shows them). */
async function waitIdle(agent: supertest.Agent): Promise<void> {
  await waitFor(async () => {
    const res = await agent.get('/api/v1/services/svc-1/snapshots');
    return res.status === 200 && !res.body.snapshots.some((s: { status: string }) => ['creating', 'deleting'].includes(s.status));
  }, 10_000, 'the service\'s operations to finish');
}
