import knex from 'knex';
import { describe, expect, it } from 'vitest';
import { HAS_MYSQL } from '../helpers/databases.js';

// Without MYSQL_URL every MySQL/MariaDB variant of the integration suites is left out; this test makes
// that visible as "skipped" instead of passing silently. Under CI the helpers refuse to run without it.
describe('MySQL/MariaDB suite', () => {
  it.skipIf(!HAS_MYSQL)('reaches a server new enough for SKIP LOCKED and millisecond timestamps', async () => {
    const db = knex({ client: 'mysql2', connection: process.env.MYSQL_URL! });
    try {
      const [rows] = await db.raw('SELECT VERSION() AS v');
      const version = String(rows[0].v);
      const [major, minor] = version.split('.').map(Number) as [number, number];
      const mariadb = /mariadb/i.test(version);
      // MariaDB 10.6 and MySQL 8.0 are the first with SKIP LOCKED.
      expect(mariadb ? major > 10 || (major === 10 && minor >= 6) : major >= 8, version).toBe(true);
      const [[row]] = await db.raw("SELECT CAST('2026-11-22 05:00:00.123' AS DATETIME(3)) AS t");
      expect((row.t as Date).getMilliseconds()).toBe(123);
    } finally {
      await db.destroy();
    }
  });
});
