import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_PLAN, LimitsRepo } from '../../module/db/limits-repo.js';
import { OperationsRepo } from '../../module/db/operations-repo.js';
import { SchedulesRepo } from '../../module/db/schedules-repo.js';
import { ServicesRepo } from '../../module/db/services-repo.js';
import { listPageFingerprint } from '../../module/db/snapshot-list-page.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import { TablesFingerprint } from '../../module/db/tables-fingerprint.js';
import type { PlanLimits } from '../../module/domain/limits.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';

const LIMITS: PlanLimits = { maxSnapshots: 4, maxSchedules: 2, maxKeep: 3, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true };
const TARGET = { driver: 'simulated', node: 'n1', vmId: '1' };
const mysql = DATABASES.filter((d) => d.kind === 'mysql');
const sqlite = DATABASES.filter((d) => d.kind === 'sqlite');

describe.each(mysql)('the Snapshots page\'s fingerprint ($kind)', (kind) => {
  const handle = useDatabase(kind);
  let snapshots: SnapshotsRepo;
  let fingerprint: () => Promise<string | null>;

  beforeEach(async () => {
    snapshots = new SnapshotsRepo(handle.db);
    fingerprint = () => snapshots.listPageFingerprint('svc', 'gold');
    await new ServicesRepo(handle.db).ensure('svc', 'gold');
  });

  const snapshot = (serviceId: string, name: string, scheduleId: number | null = null) => snapshots.insert({
    serviceId, name, description: null, hvName: `hv-${name}`, status: 'active', includeMemory: false,
    origin: scheduleId ? 'schedule' : 'manual', scheduleId, createdBy: null,
  });

  it('stays the same while nothing the page reads changes, and changes with every fact the page shows', async () => {
    const schedules = new SchedulesRepo(handle.db);
    const weekly = await schedules.insert({ serviceId: 'svc', name: 'Weekly', enabled: true, days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 2, includeMemory: false });
    const a = await snapshot('svc', 'a', weekly);
    const b = await snapshot('svc', 'b');
    const seen = new Set<string>();
    // Each change must give a fingerprint never seen before, and asking twice must give the same one.
    const changed = async (what: string) => {
      const fp = await fingerprint();
      expect(fp, what).toMatch(/^(\d+:\d+\/){5}\d+:\d+$/);
      expect(await fingerprint(), `${what}, read again`).toBe(fp);
      expect(seen.has(fp!), `${what} changed the fingerprint`).toBe(false);
      seen.add(fp!);
    };
    await changed('start');
    await handle.db('snapshot_snapshots').where({ id: a.id }).update({ name: 'a2' });
    await changed('a rename');
    await handle.db('snapshot_snapshots').where({ id: a.id }).update({ description: '' });
    await changed('an empty description where there was none (NULL)');
    await handle.db('snapshot_snapshots').where({ id: b.id }).update({ pinned: true });
    await changed('a pin');
    await handle.db('snapshot_snapshots').where({ id: b.id }).update({ status: 'deleting' });
    await changed('a status');
    await schedules.update(weekly, { name: 'Weekly (renamed)' });
    await changed('the name of the schedule that made a snapshot');
    const idle = await fingerprint();
    const operations = new OperationsRepo(handle.db);
    const op = await operations.insert({ serviceId: 'svc', snapshotId: a.id, kind: 'create', target: TARGET, origin: 'customer', requestedBy: null });
    await changed('an operation queued');
    await handle.db('snapshot_operations').where({ id: op }).update({ status: 'running' });
    await changed('the operation running');
    await handle.db('snapshot_operations').where({ id: op }).update({ status: 'succeeded' });
    // The page shows no finished operation: it reads what it read before the operation was queued.
    expect(await fingerprint(), 'the operation finished').toBe(idle);
    await new LimitsRepo(handle.db).set(DEFAULT_PLAN, LIMITS);
    await changed('the default plan\'s limits');
    await new LimitsRepo(handle.db).set('gold', { ...LIMITS, maxSnapshots: 9 });
    await changed('the service\'s plan\'s limits');
    await new ServicesRepo(handle.db).update('svc', { suspended: true });
    await changed('the service\'s state');
    await snapshot('svc', 'c');
    await changed('a new snapshot');
    await handle.db('snapshot_snapshots').where({ id: a.id }).delete();
    await changed('a snapshot gone');
  });

  it('is not moved by another service\'s rows or another plan\'s limits', async () => {
    for (let i = 0; i < 3; i++) await snapshot('svc', `s${i}`);
    const before = await fingerprint();
    await snapshot('svc-other', 'x');
    await handle.db('snapshot_snapshots').where({ service_id: 'svc-other' }).update({ name: 'y' });
    await new ServicesRepo(handle.db).ensure('svc-other', 'gold');
    await new LimitsRepo(handle.db).set('silver', LIMITS);
    expect(await fingerprint()).toBe(before);
  });

  it('builds its statement again after a build that failed, rather than failing from then on', async () => {
    const fp = new TablesFingerprint(handle.db, [{ table: 'snapshot_later', where: 'k = ?', params: ['k'] }]);
    await expect(fp.of({ k: 'a' })).rejects.toThrow();
    await handle.db.schema.createTable('snapshot_later', (t) => { t.string('k'); });
    await handle.db('snapshot_later').insert({ k: 'a' });
    expect(await fp.of({ k: 'a' })).toMatch(/^1:\d+$/);
  });

  it('covers every table the page\'s query reads', async () => {
    const sql: string[] = [];
    handle.db.on('query', (q: { sql: string }) => sql.push(q.sql));
    await snapshots.listPage('svc', 'gold');
    const read = new Set([...sql.join(' ').matchAll(/(?:from|join) `?(snapshot_\w+)`?/g)].map((m) => m[1]));
    expect(read.size).toBeGreaterThanOrEqual(5);
    const covered = new Set(listPageFingerprint(handle.db).parts.map((p) => p.table));
    expect([...read].filter((t) => !covered.has(t!)), 'tables the page reads that its fingerprint does not hash').toEqual([]);
  });
});

describe.each(sqlite)('the Snapshots page\'s fingerprint ($kind)', (kind) => {
  const handle = useDatabase(kind);
  it('is not made (SQLite has no MD5): nothing is reused there', async () => {
    expect(await new SnapshotsRepo(handle.db).listPageFingerprint('svc', 'gold')).toBeNull();
  });
});
