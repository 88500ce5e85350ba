import { describe, expect, it } from 'vitest';
import { AdminQueries, COUNT_CAP } from '../../module/db/admin-queries.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';

const EVENTS = 60;

describe.each(DATABASES)('admin lists page by id and count with a cap ($kind)', (kind) => {
  const handle = useDatabase(kind);

  async function seedAudit() {
    const at = new Date();
    await handle.db.batchInsert('snapshot_audit_events', Array.from({ length: EVENTS }, (_, i) => ({
      occurred_at: new Date(at.getTime() - (EVENTS - i) * 1000), actor_type: 'customer', actor_id: i % 2 ? 'alice' : 'bob',
      service_id: 'svc-1', action: 'snapshot.create', result: 'ok',
    })), 100);
    return (await handle.db('snapshot_audit_events').orderBy('id', 'desc').pluck('id')).map(Number);
  }

  it('walks the audit log older and newer with cursors, never with OFFSET or a count of the table', async () => {
    const ids = await seedAudit();
    const q = new AdminQueries(handle.db);
    const sql: string[] = [];
    const log = (e: { sql: string }) => { sql.push(e.sql.toLowerCase()); };
    handle.db.on('query', log);
    const first = await q.audit({}, { limit: 25 });
    const second = await q.audit({}, { before: first.older!, limit: 25 });
    const third = await q.audit({}, { before: second.older!, limit: 25 });
    const back = await q.audit({}, { after: third.newer!, limit: 25 });
    handle.db.off('query', log);

    expect(first.rows.map((e) => e.id)).toEqual(ids.slice(0, 25));
    expect(first.newer).toBeNull();
    expect(second.rows.map((e) => e.id)).toEqual(ids.slice(25, 50));
    expect(third.rows.map((e) => e.id)).toEqual(ids.slice(50));
    expect(third.older).toBeNull();
    expect(back.rows.map((e) => e.id)).toEqual(ids.slice(25, 50));
    expect(back.newer).toBe(ids[25]);
    expect(back.older).toBe(ids[49]);
    expect(sql.some((s) => s.includes('offset'))).toBe(false);
    expect(sql.some((s) => s.includes('count('))).toBe(false);

    // Filters keep to the cursor: alice's events only, older than the first page's last.
    const alice = await q.audit({ actorId: 'alice' }, { before: first.older!, limit: 100 });
    expect(alice.rows.every((e) => e.actorId === 'alice' && e.id < first.older!)).toBe(true);
    expect(alice.rows).toHaveLength(ids.filter((id, i) => id < first.older! && (EVENTS - 1 - i) % 2 === 1).length);
  });

  it('counts problems up to the cap, and reads that many rows at most', async () => {
    const at = new Date();
    const row = (i: number, status: string) => ({
      service_id: `svc-${i % 7}`, name: `s${i}`, hv_name: `psnap-x-${i}`, status, origin: 'manual', created_at: at, updated_at: at,
    });
    await handle.db.batchInsert('snapshot_snapshots', [
      ...Array.from({ length: COUNT_CAP + 5 }, (_, i) => row(i, 'error')), ...Array.from({ length: 3 }, (_, i) => row(COUNT_CAP + 10 + i, 'unmanaged')),
    ], 200);
    const q = new AdminQueries(handle.db);
    const stuckBefore = new Date();
    expect(await q.countSnapshots({ problem: 'errors', stuckBefore })).toBe(COUNT_CAP + 1);
    expect(await q.countSnapshots({ problem: 'unmanaged', stuckBefore })).toBe(3);
    expect(await q.countSnapshots({ status: 'active', stuckBefore })).toBe(0);
  });
});
