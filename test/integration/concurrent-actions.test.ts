import supertest from 'supertest';
import { beforeEach, describe, expect, it } from 'vitest';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import type { Snapshot } from '../../module/domain/types.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { type ModuleFixture, useDatabase } from '../helpers/db-suite.js';
import { appFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';
import { activeSnapshots, ADMIN, auditRows, CUSTOMER, expectInvariants, race, RESELLER, setPlan, settle } from '../helpers/race-kit.js';
import { waitFor } from '../helpers/wait-for.js';

const SERVICE = makeService({ resellerId: 'rex', planId: 'race' });
const ROUNDS = 6;
const LIMIT = 6;

/**
 * State-changing actions on one service fired at the same moment, round after round; after each
 * round the stored rows must keep every rule. On MariaDB the requests really run side by side
 * (SQLite's single writer would hide a race), so that is where these tests earn their keep.
 */
describe.each(DATABASES)('concurrent actions on one service ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let fx: ModuleFixture;

  beforeEach(async () => {
    await setPlan(handle.db, 'race', { maxSnapshots: LIMIT });
    fx = await handle.module({ services: [SERVICE] });
  });

  const restore = (s: Snapshot, ctx = CUSTOMER, safetySnapshot = false) =>
    () => fx.mod.snapshots.restore(SERVICE, s.id, { typedServiceName: SERVICE.name, safetySnapshot }, ctx);
  /** Ends a round: finishes what was queued, so the next round starts from active snapshots again. */
  const endRound = async () => {
    await expectInvariants(handle.db, SERVICE.id, LIMIT);
    await settle(handle.db, SERVICE.id);
  };

  it('restore × restore of different snapshots, by customer, reseller and admin: one is queued per round', async () => {
    const snaps = await activeSnapshots(handle.db, fx.mod, SERVICE, 4);
    for (let round = 0; round < ROUNDS; round++) {
      const outcomes = await race([CUSTOMER, RESELLER, ADMIN, CUSTOMER].map((ctx, i) => restore(snaps[i]!, ctx)));
      expect(outcomes.filter((o) => o.ok), `round ${round}`).toHaveLength(1);
      for (const o of outcomes) if (!o.ok) expect(o.code).toBe('restore_in_progress');
      await endRound();
    }
    expect(await auditRows(handle.db, SERVICE.id, 'snapshot.restore')).toHaveLength(ROUNDS);
  });

  it('restore × restore of one snapshot: one is queued, the others are told it is no longer active', async () => {
    const [s] = await activeSnapshots(handle.db, fx.mod, SERVICE, 1);
    for (let round = 0; round < ROUNDS; round++) {
      const outcomes = await race(Array.from({ length: 6 }, (_, i) => restore(s!, [CUSTOMER, RESELLER, ADMIN][i % 3])));
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
      for (const o of outcomes) if (!o.ok) expect(['restore_needs_active', 'restore_in_progress']).toContain(o.code);
      await endRound();
    }
  });

  it('restores with a safety snapshot: a refused restore leaves no safety snapshot and uses no slot', async () => {
    const snaps = await activeSnapshots(handle.db, fx.mod, SERVICE, 2);
    for (let round = 0; round < ROUNDS; round++) {
      const outcomes = await race(Array.from({ length: 8 }, (_, i) => restore(snaps[i % 2]!, [CUSTOMER, RESELLER, ADMIN][i % 3], true)));
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
      await endRound();
      // Safety snapshots of accepted restores only: one per round so far.
      expect(await handle.db('snapshot_snapshots').where({ service_id: SERVICE.id, origin: 'safety' })).toHaveLength(round + 1);
      if (round === 2) break; // three safety snapshots + two restored ones fill 5 of the 6 slots
    }
    // At the limit's edge the restore's safety snapshot and a create compete for the last slot.
    const outcomes = await race([restore(snaps[0]!, CUSTOMER, true), () => fx.mod.snapshots.create(SERVICE, { name: 'last slot' }, CUSTOMER), restore(snaps[1]!, RESELLER, true)]);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
    await expectInvariants(handle.db, SERVICE.id, LIMIT);
  });

  it('create × restore: creates queue beside one restore and never exceed the limit', async () => {
    const snaps = await activeSnapshots(handle.db, fx.mod, SERVICE, 2);
    for (let round = 0; round < ROUNDS; round++) {
      await race([
        restore(snaps[0]!), restore(snaps[1]!, RESELLER, true),
        ...Array.from({ length: 4 }, (_, i) => () => fx.mod.snapshots.create(SERVICE, { name: `r${round} c${i}` }, CUSTOMER)),
      ]);
      await expectInvariants(handle.db, SERVICE.id, LIMIT);
      // Make room again: everything beyond the two restore targets is dismissed.
      await settle(handle.db, SERVICE.id);
      await handle.db('snapshot_snapshots').where({ service_id: SERVICE.id }).whereNotIn('id', [snaps[0]!.id, snaps[1]!.id]).delete();
    }
  });

  it('delete × pin: a pinned snapshot is never deleted without its name typed', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const [s] = await activeSnapshots(handle.db, fx.mod, SERVICE, 1);
      const outcomes = await race([
        () => fx.mod.snapshots.setPinned(SERVICE, s!.id, true, CUSTOMER),
        () => fx.mod.snapshots.delete(SERVICE, s!.id, { confirm: true }, RESELLER),
      ]);
      const after = (await new SnapshotsRepo(handle.db).get(s!.id))!;
      // Either the delete came first (the pin is refused) or the pin did (the delete asks for the name).
      expect(after.pinned && after.status === 'deleting').toBe(false);
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
      await endRound();
      await handle.db('snapshot_snapshots').where({ service_id: SERVICE.id }).delete();
    }
  });

  it('rotation × pin: a scheduled run at the limit never rotates out a snapshot pinned at the same moment', async () => {
    const schedule = await fx.mod.schedules.create(SERVICE, { name: 'nightly', days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 6 }, CUSTOMER);
    for (let round = 0; round < ROUNDS; round++) {
      const snaps = await activeSnapshots(handle.db, fx.mod, SERVICE, LIMIT, { origin: 'schedule', scheduleId: schedule.id });
      const outcomes = await race([
        ...snaps.map((s) => () => fx.mod.snapshots.setPinned(SERVICE, s.id, true, CUSTOMER)),
        () => fx.mod.runSchedule(schedule.id, new Date(Date.now() + round * 60_000)),
      ]);
      const run = (outcomes.at(-1) as { ok: true; value: string }).value;
      const rotated = (await handle.db('snapshot_snapshots').where({ service_id: SERVICE.id, status: 'deleting' })).map((r) => Number(r.id));
      for (const [i, s] of snaps.entries()) {
        // Each snapshot was pinned (and kept) or rotated out (and the pin refused): never both.
        expect(rotated.includes(s.id)).toBe(!outcomes[i]!.ok);
        expect((await new SnapshotsRepo(handle.db).get(s.id))!.pinned).toBe(outcomes[i]!.ok);
      }
      // The run made room by rotating one unpinned snapshot, or found all pinned and skipped.
      expect(run === 'started' ? rotated.length === 1 : run === 'limit_reached' && rotated.length === 0).toBe(true);
      await endRound();
      await handle.db('snapshot_snapshots').where({ service_id: SERVICE.id }).delete();
    }
  });

  it('rename × a delete that finishes: a rename never reports success on a snapshot gone', async () => {
    await fx.mod.start();
    for (let round = 0; round < ROUNDS; round++) {
      const made = await fx.mod.snapshots.create(SERVICE, { name: `doomed ${round}` }, CUSTOMER);
      await waitFor(async () => (await new SnapshotsRepo(handle.db).get(made.id))?.status === 'active', 5_000, 'active');
      const outcomes = await race([
        () => fx.mod.snapshots.delete(SERVICE, made.id, { confirm: true }, CUSTOMER),
        ...Array.from({ length: 4 }, (_, i) => async () => {
          await new Promise((r) => setTimeout(r, i * 3));
          return fx.mod.snapshots.edit(SERVICE, made.id, { name: `renamed ${i}` }, RESELLER);
        }),
      ]);
      await waitFor(async () => !(await new SnapshotsRepo(handle.db).get(made.id)), 5_000, 'deleted');
      // Every rename reported done is in the log before the delete's outcome, never after it.
      const edits = await auditRows(handle.db, SERVICE.id, 'snapshot.edit');
      const gone = (await auditRows(handle.db, SERVICE.id, 'operation.delete')).at(-1)!;
      expect(edits.filter((e) => Number(e.snapshot_id) === made.id && Number(e.id) > Number(gone.id))).toHaveLength(0);
      expect(edits.filter((e) => Number(e.snapshot_id) === made.id)).toHaveLength(outcomes.slice(1).filter((o) => o.ok).length);
      for (const o of outcomes.slice(1)) if (!o.ok) expect(['snapshot_not_found', 'snapshot_not_editable']).toContain(o.code);
    }
  });

  it('through the API: parallel restores by customer, reseller and admin queue one', async () => {
    const snaps = await activeSnapshots(handle.db, fx.mod, SERVICE, 3);
    const app = appFor(fx.mod);
    const post = (actor: string, s: Snapshot) => supertest(app).post(`/api/v1/services/${SERVICE.id}/snapshots/${s.id}/restore`)
      .set('x-test-actor', actor).send({ typedServiceName: SERVICE.name, safetySnapshot: true });
    const res = await Promise.all(['alice', 'reseller', 'admin', 'alice', 'reseller', 'admin'].map((a, i) => post(a, snaps[i % 3]!)));
    expect(res.filter((r) => r.status === 202)).toHaveLength(1);
    for (const r of res.filter((x) => x.status !== 202)) {
      expect(r.status).toBe(409);
      expect(['restore_in_progress', 'restore_needs_active']).toContain(r.body.error.code);
    }
    await expectInvariants(handle.db, SERVICE.id, LIMIT);
    expect(await handle.db('snapshot_snapshots').where({ service_id: SERVICE.id, origin: 'safety' })).toHaveLength(1);
  });
});
