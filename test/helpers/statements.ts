import type { Knex } from 'knex';

/** Records the SQL of every statement `db` sends while `fn` runs. */
export async function statementsOf<T>(db: Knex, fn: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
  const sql: string[] = [];
  const log = (q: { sql: string }) => sql.push(q.sql);
  db.on('query', log);
  try {
    return { result: await fn(), sql };
  } finally {
    db.off('query', log);
  }
}
