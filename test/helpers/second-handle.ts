import knex, { type Knex } from 'knex';
import type { TestDatabase } from './databases.js';

/**
 * Another knex instance on an existing test database (as a restarted or second panel process would
 * have), from the `url` a TestDatabase handle reports. The caller destroys it before the handle.
 */
export async function openSecondHandle(kind: TestDatabase['kind'], url: string): Promise<Knex> {
  if (kind === 'sqlite') {
    const db = knex({ client: 'better-sqlite3', connection: { filename: url }, useNullAsDefault: true });
    await db.raw('PRAGMA busy_timeout = 5000');
    return db;
  }
  return knex({ client: 'mysql2', connection: url, pool: { min: 0, max: 10 } });
}
