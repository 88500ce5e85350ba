import type { Knex } from 'knex';
import { isMysql } from './values.js';

/**
 * A query whose shape never changes, built and compiled by knex once and then run with new values:
 * for a query of a dozen joins and subqueries, knex's building and compiling cost more than the
 * database took to answer it. `build` gets `param(name)` to put where a value goes; each must end
 * up a bound parameter (checked when compiling), never part of the SQL text.
 */
export class PreparedQuery<P extends string> {
  private compiled: { sql: string; bindings: ReadonlyArray<unknown> } | null = null;

  constructor(private readonly db: Knex, private readonly build: (param: (name: P) => string) => Knex.QueryBuilder) {}

  /** The rows the query returns for `values`, read through `db` (a transaction) or the one it was built with. */
  async rows(values: Record<P, unknown>, db: Knex = this.db): Promise<Array<Record<string, unknown>>> {
    const { sql, params } = this.bound(values);
    const result = await db.raw(sql, params);
    // A raw query answers [rows, fields] on MySQL/MariaDB and the rows on SQLite.
    return (isMysql(db) ? result[0] : result) as Array<Record<string, unknown>>;
  }

  /** The compiled SQL with `values` in place of its parameters. */
  private bound(values: Record<P, unknown>): { sql: string; params: Knex.RawBinding[] } {
    const { sql, bindings } = this.compile();
    const params = bindings.map((b) => (typeof b === 'string' && b.startsWith(MARK) ? values[b.slice(MARK.length) as P] : b));
    return { sql, params: params as Knex.RawBinding[] };
  }

  private compile(): { sql: string; bindings: ReadonlyArray<unknown> } {
    if (!this.compiled) {
      const { sql, bindings } = this.build((name) => `${MARK}${name}`).toSQL();
      if (sql.includes(MARK)) throw new Error('PreparedQuery: a parameter ended up in the SQL text, not as a bound value');
      this.compiled = { sql, bindings };
    }
    return this.compiled;
  }
}

const MARK = '\u0000param:';
