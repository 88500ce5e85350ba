// `npm run migrate` / `npm run migrate:rollback`: applies or rolls back the module's tables on
// DATABASE_URL (mysql://…) or the demo SQLite file, for panels that run migrations as a deploy step.
import knex from 'knex';
import { migrationConfig } from '../migrations/index.js';

const url = process.env.DATABASE_URL;
const db = url?.startsWith('mysql://')
  ? knex({ client: 'mysql2', connection: url })
  : knex({ client: 'better-sqlite3', connection: { filename: url ?? 'examples/demo-panel/data/demo.sqlite' }, useNullAsDefault: true });
try {
  const action = process.argv[2] === 'rollback' ? 'rollback' : 'latest';
  const [, names] = action === 'rollback' ? await db.migrate.rollback(migrationConfig) : await db.migrate.latest(migrationConfig);
  console.log(names.length ? `${action}: ${names.join(', ')}` : `${action}: nothing to do`);
} finally {
  await db.destroy();
}
