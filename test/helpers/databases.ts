import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knex, { type Knex } from 'knex';
import { migrationConfig } from '../../migrations/index.js';

export interface TestDatabase {
  /** 'sqlite' or 'mysql' — test titles include it. */
  kind: 'sqlite' | 'mysql';
  /** A fresh, empty database of that kind; each call gives a new one. */
  create(): Promise<{ db: Knex; url: string; destroy(): Promise<void> }>;
}

const MYSQL_URL = process.env.MYSQL_URL;

/**
 * The MySQL/MariaDB suite runs when MYSQL_URL is set and is required under CI: a CI run without it
 * fails here instead of silently testing SQLite only.
 */
if (process.env.CI === 'true' && !MYSQL_URL) {
  throw new Error('CI=true but MYSQL_URL is not set: the MySQL/MariaDB suite is required in CI');
}

let counter = 0;

const sqlite: TestDatabase = {
  kind: 'sqlite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'snapshots-test-'));
    const file = join(dir, 'test.sqlite');
    const db = knex({ client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true });
    await db.raw('PRAGMA journal_mode = WAL');
    await db.raw('PRAGMA busy_timeout = 5000');
    return {
      db, url: file,
      async destroy() {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const mysql: TestDatabase = {
  kind: 'mysql',
  async create() {
    // Each test gets its own database so parallel test files never share tables.
    const admin = knex({ client: 'mysql2', connection: MYSQL_URL! });
    const name = `snaptest_${process.pid}_${Date.now().toString(36)}_${++counter}`;
    await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    const url = new URL(MYSQL_URL!);
    url.pathname = `/${name}`;
    const db = knex({ client: 'mysql2', connection: url.toString(), pool: { min: 0, max: 10 } });
    return {
      db, url: url.toString(),
      async destroy() {
        await db.destroy();
        await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``);
        await admin.destroy();
      },
    };
  },
};

/** The databases every integration suite runs against: SQLite always, MariaDB/MySQL when configured. */
export const DATABASES: TestDatabase[] = MYSQL_URL ? [sqlite, mysql] : [sqlite];

/** Whether the MySQL suite runs (reported as skipped otherwise). */
export const HAS_MYSQL = !!MYSQL_URL;

/** A fresh database with the module's migrations applied. */
export async function migratedDatabase(kind: TestDatabase) {
  const handle = await kind.create();
  await handle.db.migrate.latest(migrationConfig);
  return handle;
}
