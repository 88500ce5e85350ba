import { describe, expect, it } from 'vitest';
import { SchedulesRepo } from '../../module/db/schedules-repo.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import { snapshotsBeyondKeep } from '../../module/domain/retention.js';
import type { SnapshotStatus } from '../../module/domain/status.js';
import { RetentionReads } from '../../module/scheduler/retention-reads.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';

/** Retention after scheduled snapshots ending together reads their schedules in one statement. */
describe.each(DATABASES)('RetentionReads ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);

  async function schedule(serviceId: string, keep: number): Promise<number> {
    return new SchedulesRepo(handle.db).insert({
      serviceId, name: `keep ${keep}`, enabled: true, days: [0], hour: 3, minute: 0, timezone: 'UTC', keep, includeMemory: false,
    });
  }

  async function snapshot(serviceId: string, scheduleId: number | null, i: number, status: SnapshotStatus = 'active', pinned = false): Promise<number> {
    const s = await new SnapshotsRepo(handle.db).insert({
      serviceId, name: `s${i}`, description: null, includeMemory: false, status, hvName: `ps-${serviceId}-${i}`,
      origin: scheduleId === null ? 'manual' : 'schedule', scheduleId, createdBy: 'x',
    });
    await handle.db('snapshot_snapshots').where({ id: s.id }).update({ created_at: new Date(Date.UTC(2026, 0, 1, 0, i)), pinned });
    return s.id;
  }

  it('reads the schedules asked in one turn in one statement; each gets its own keep and snapshots, a gone schedule none', async () => {
    const a = await schedule('svc-1', 2);
    const b = await schedule('svc-1', 1);
    const c = await schedule('svc-2', 3);
    const aIds = [await snapshot('svc-1', a, 1), await snapshot('svc-1', a, 2), await snapshot('svc-1', a, 3), await snapshot('svc-1', a, 4, 'active', true)];
    const bIds = [await snapshot('svc-1', b, 5), await snapshot('svc-1', b, 6)];
    await snapshot('svc-1', null, 7);
    await snapshot('svc-2', c, 8);
    const gone = await schedule('svc-2', 1);
    await snapshot('svc-2', gone, 9);
    await handle.db('snapshot_schedules').where({ id: gone }).delete();

    const reads = new RetentionReads(new SnapshotsRepo(handle.db));
    const selects: string[] = [];
    const on = (q: { sql: string }) => { if (/^select/i.test(q.sql)) selects.push(q.sql); };
    handle.db.on('query', on);
    const [ra, rb, rc, rg, ra2] = await Promise.all([reads.read(a), reads.read(b), reads.read(c), reads.read(gone), reads.read(a)]);
    handle.db.off('query', on);

    expect(selects).toHaveLength(1);
    expect(ra!.keep).toBe(2);
    expect(ra!.snapshots.map((s) => s.id).sort((x, y) => x - y)).toEqual(aIds);
    expect(ra2).toEqual(ra);
    expect(rb!.keep).toBe(1);
    expect(rc!.keep).toBe(3);
    expect(rc!.snapshots).toHaveLength(1);
    expect(rg).toBeNull();
    // What retention decides from it: the oldest unpinned beyond keep, never the pinned or a manual one.
    expect(snapshotsBeyondKeep(a, ra!.keep, ra!.snapshots)).toEqual([aIds[0]]);
    expect(snapshotsBeyondKeep(b, rb!.keep, rb!.snapshots)).toEqual([bIds[0]]);
    expect(ra!.snapshots.find((s) => s.id === aIds[3])!.pinned).toBe(true);
    expect(ra!.snapshots[0]!.createdAt).toBeInstanceOf(Date);
  });
});
