import type { Knex } from 'knex';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { migrationConfig } from '../../migrations/index.js';
import { isMysql } from '../../module/db/values.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';

const MIGRATIONS = [
  '20261122000000_snapshot_initial', '20261122010000_snapshot_jobs', '20261122020000_snapshot_nodes',
  '20261122030000_snapshot_webhook_events', '20261122040000_snapshot_service_owner', '20261122050000_snapshot_audit_by_service',
  '20261122060000_snapshot_jobs_revision', '20261202000000_snapshot_user_locales', '20261207000000_snapshot_guest_type',
  '20261207010000_snapshot_hv_name_exact', '20261207020000_snapshot_audit_by_action', '20261208100000_snapshot_clones', '20261210000000_snapshot_scale_indexes',
];
const MODULE_TABLES = [
  'snapshot_plan_limits', 'snapshot_services', 'snapshot_schedules', 'snapshot_snapshots', 'snapshot_operations',
  'snapshot_audit_events',
  'snapshot_jobs', 'snapshot_nodes',
  'snapshot_webhook_events', 'snapshot_user_locales', 'snapshot_handovers', 'snapshot_clones',
];

/** Every table in the test database, whatever created it. */
async function allTables(db: Knex): Promise<string[]> {
  if (isMysql(db)) {
    const [rows] = await db.raw('SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()');
    return (rows as { name: string }[]).map((r) => r.name).sort();
  }
  const rows = await db.raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
  return (rows as { name: string }[]).map((r) => r.name).sort();
}

/** The stored bytes of a column, as upper-case hex (both SQLite and MariaDB have HEX()). */
async function storedHex(db: Knex, table: string, column: string, id: number): Promise<string> {
  const row = await db(table).where({ id }).first(db.raw(`HEX(${column}) AS h`));
  return String(row.h).toUpperCase();
}

const hexOf = (s: string) => Buffer.from(s, 'utf8').toString('hex').toUpperCase();

function newSnapshot(name: string, description: string | null = null, hvName = 'psnap-20240101000000-abcdef') {
  return {
    serviceId: 'svc-1', name, description, hvName, status: 'creating' as const, includeMemory: false,
    origin: 'manual' as const, scheduleId: null, createdBy: 'alice',
  };
}

describe.each(DATABASES)('migrations ($kind)', (kind: TestDatabase) => {
  let handle: Awaited<ReturnType<TestDatabase['create']>>;
  let db: Knex;

  beforeEach(async () => {
    handle = await kind.create();
    db = handle.db;
  });

  afterEach(async () => {
    vi.useRealTimers();
    await handle.destroy();
  });

  it('latest creates exactly the module tables, bookkept in snapshot_knex_migrations', async () => {
    expect(await allTables(db)).toEqual([]);
    const [batch, log] = await db.migrate.latest(migrationConfig);
    expect(batch).toBe(1);
    expect(log).toEqual(MIGRATIONS);

    for (const t of MODULE_TABLES) expect(await db.schema.hasTable(t), t).toBe(true);
    // Its own bookkeeping, never the host panel's knex_migrations.
    expect(await db.schema.hasTable('snapshot_knex_migrations')).toBe(true);
    expect(await db.schema.hasTable('knex_migrations')).toBe(false);
    expect(await db.schema.hasTable('knex_migrations_lock')).toBe(false);
    expect(await allTables(db)).toEqual(
      [...MODULE_TABLES, 'snapshot_knex_migrations', 'snapshot_knex_migrations_lock'].sort(),
    );
    const done = await db('snapshot_knex_migrations').select('name', 'batch');
    expect(done.map((r) => [r.name, Number(r.batch)])).toEqual(MIGRATIONS.map((m) => [m, 1]));
    expect(await db.migrate.currentVersion(migrationConfig)).toBe(MIGRATIONS.at(-1)!.slice(0, 14));
  });

  it('rollback removes every module table; latest runs again and a further latest is a no-op', async () => {
    await db.migrate.latest(migrationConfig);
    await db('snapshot_plan_limits').insert({
      plan_id: 'basic', max_snapshots: 3, max_schedules: 1, max_keep: 3, memory_allowed: true, schedules_allowed: true, updated_at: new Date(),
    });

    const [, rolledBack] = await db.migrate.rollback(migrationConfig, true);
    expect([...rolledBack].sort()).toEqual(MIGRATIONS);
    for (const t of MODULE_TABLES) expect(await db.schema.hasTable(t), t).toBe(false);
    expect(Number((await db('snapshot_knex_migrations').count({ n: '*' }).first())!.n)).toBe(0);

    const [batch, log] = await db.migrate.latest(migrationConfig);
    expect(batch).toBe(1);
    expect(log).toEqual(MIGRATIONS);
    for (const t of MODULE_TABLES) expect(await db.schema.hasTable(t), t).toBe(true);
    // Tables come back empty (the old row went with the rollback).
    expect(await db('snapshot_plan_limits').select()).toEqual([]);

    // Idempotent: nothing left to run, nothing dropped.
    const [, again] = await db.migrate.latest(migrationConfig);
    expect(again).toEqual([]);
    for (const t of MODULE_TABLES) expect(await db.schema.hasTable(t), t).toBe(true);
    expect(Number((await db('snapshot_knex_migrations').count({ n: '*' }).first())!.n)).toBe(MIGRATIONS.length);
  });

  it('Korean, Japanese and emoji names and descriptions round-trip byte-exact', async () => {
    if (kind.kind === 'mysql') {
      // A host database whose default is not utf8mb4: the migration itself must choose utf8mb4.
      const [[{ name }]] = await db.raw('SELECT DATABASE() AS name');
      await db.raw(`ALTER DATABASE \`${name}\` CHARACTER SET latin1 COLLATE latin1_swedish_ci`);
    }
    await db.migrate.latest(migrationConfig);
    if (kind.kind === 'mysql') {
      const [rows] = await db.raw(
        'SELECT TABLE_NAME AS t, TABLE_COLLATION AS c FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ?',
        ['snapshot\\_%'],
      );
      const byTable = new Map((rows as { t: string; c: string }[]).map((r) => [r.t, r.c]));
      for (const t of MODULE_TABLES) expect(byTable.get(t), t).toMatch(/^utf8mb4_/);
    }
    const repo = new SnapshotsRepo(db);
    const names = [
      '업데이트 전 스냅샷',
      'アップデート前のスナップショット',
      '🚀 배포 前 👍🏽 👨‍👩‍👧',
      // 64 code points, each four bytes in UTF-8.
      '😀'.repeat(64),
    ];
    const description = 'DB를 FLUSH TABLES 후 — データベース停止 ✅ 𠮷野家';
    let n = 0;
    for (const name of names) {
      const { id } = await repo.insert(newSnapshot(name, description, `psnap-20240101000000-abc${String(++n).padStart(3, '0')}`));
      const back = await repo.get(id);
      expect(back!.name).toBe(name);
      expect(Buffer.from(back!.name, 'utf8').equals(Buffer.from(name, 'utf8'))).toBe(true);
      expect(back!.description).toBe(description);
      // What the database holds is the UTF-8 of the name, not a re-encoded or truncated form.
      expect(await storedHex(db, 'snapshot_snapshots', 'name', id)).toBe(hexOf(name));
      expect(await storedHex(db, 'snapshot_snapshots', 'description', id)).toBe(hexOf(description));
    }
    // Renames go through the same path.
    const { id } = await repo.insert(newSnapshot('x', null, 'psnap-20240101000000-zzzzzz'));
    await repo.update(id, { name: '名前変更 🎌', description: '설명' });
    expect(await repo.get(id)).toMatchObject({ name: '名前変更 🎌', description: '설명' });
    expect(await storedHex(db, 'snapshot_snapshots', 'name', id)).toBe(hexOf('名前変更 🎌'));
  });

  it('millisecond timestamps round-trip', async () => {
    await db.migrate.latest(migrationConfig);
    const repo = new SnapshotsRepo(db);
    // Freeze only Date (timers stay real for the database drivers) at a time with odd milliseconds.
    const at = new Date('2024-05-06T07:08:09.123Z');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(at);
    const { id } = await repo.insert(newSnapshot('ms'));
    vi.useRealTimers();

    const back = await repo.get(id);
    expect(back!.createdAt.getTime()).toBe(at.getTime());
    expect(back!.updatedAt.getTime()).toBe(at.getTime());
    expect(back!.completedAt).toBeNull();

    const completed = new Date('2024-05-06T07:09:10.987Z');
    await repo.update(id, { completedAt: completed, status: 'active' });
    const after = await repo.get(id);
    expect(after!.completedAt!.getTime()).toBe(completed.getTime());
    expect(after!.createdAt.getTime()).toBe(at.getTime());
    // updatedAt moved on to the real clock, with its milliseconds.
    expect(after!.updatedAt.getTime()).toBeGreaterThan(at.getTime());

    // Ordering by created_at separates snapshots one millisecond apart.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(at.getTime() + 1));
    const { id: later } = await repo.insert(newSnapshot('ms+1', null, 'psnap-20240101000000-later1'));
    vi.useRealTimers();
    const list = await repo.listForService('svc-1');
    expect(list.map((s) => s.id)).toEqual([later, id]);
    expect(list[0]!.createdAt.getTime() - list[1]!.createdAt.getTime()).toBe(1);
  });
});
