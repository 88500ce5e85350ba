import type { Knex } from 'knex';
import { isMysql } from './values.js';

/** Where a value goes in a prepared query: `param(name)` for one value, `list(name)` inside an IN list. */
export interface Params<P extends string> {
  (name: P): string;
  list(name: P): string;
}

interface Compiled {
  /** The SQL split at its placeholders: `parts[i]` comes before binding i. */
  parts: string[];
  bindings: ReadonlyArray<unknown>;
  /** The statement per count of each list's values ("2,3"), joined once. */
  sized: Map<string, string>;
}

/**
 * A query whose shape never changes, built and compiled by knex once and then run with new values:
 * for a query of a dozen joins and subqueries, knex's building and compiling cost more than the
 * database took to answer it. `build` gets `param(name)` to put where a value goes, and
 * `param.list(name)` as the one element of an IN list (`whereIn(column, [param.list('ids')])`), whose
 * values a call gives as an array: the placeholder is repeated once per value, the statement for each
 * count kept once made. Each must end up a bound parameter (checked when compiling), never part of the SQL text.
 */
export class PreparedQuery<P extends string> {
  private compiled: Compiled | null = null;

  constructor(private readonly db: Knex, private readonly build: (param: Params<P>) => Knex.QueryBuilder) {}

  /** The rows the query returns for `values`, read through `db` (a transaction) or the one it was built with. */
  async rows(values: Record<P, unknown>, db: Knex = this.db): Promise<Array<Record<string, unknown>>> {
    const c = this.compile();
    const params: unknown[] = [];
    const sizes: number[] = [];
    for (const b of c.bindings) {
      const named = typeof b === 'string' && b.startsWith(MARK) ? b.slice(MARK.length) : null;
      if (named === null) params.push(b);
      else if (named.startsWith(LIST)) {
        const list = values[named.slice(LIST.length) as P] as unknown[];
        if (!list.length) throw new Error('PreparedQuery: an IN list needs at least one value');
        params.push(...list);
        sizes.push(list.length);
      } else params.push(values[named as P]);
    }
    const result = await db.raw(this.sql(c, sizes), params as Knex.RawBinding[]);
    // A raw query answers [rows, fields] on MySQL/MariaDB and the rows on SQLite.
    return (isMysql(db) ? result[0] : result) as Array<Record<string, unknown>>;
  }

  private sql(c: Compiled, sizes: number[]): string {
    const key = sizes.join(',');
    let sql = c.sized.get(key);
    if (sql !== undefined) return sql;
    let list = 0;
    sql = c.parts[0]!;
    c.bindings.forEach((b, i) => {
      const isList = typeof b === 'string' && b.startsWith(`${MARK}${LIST}`);
      sql += (isList ? Array(sizes[list++]).fill('?').join(', ') : '?') + c.parts[i + 1]!;
    });
    // Counts follow batch sizes (a few dozen); a map that still grows large starts again.
    if (c.sized.size >= MAX_SIZED) c.sized.clear();
    c.sized.set(key, sql);
    return sql;
  }

  private compile(): Compiled {
    if (!this.compiled) {
      const param = Object.assign((name: P) => `${MARK}${name}`, { list: (name: P) => `${MARK}${LIST}${name}` });
      const { sql, bindings } = this.build(param).toSQL();
      if (sql.includes(MARK)) throw new Error('PreparedQuery: a parameter ended up in the SQL text, not as a bound value');
      // knex writes each binding as one `?` (identifiers are quoted, values never inlined).
      const parts = sql.split('?');
      if (parts.length !== bindings.length + 1) throw new Error('PreparedQuery: placeholders and bindings do not match');
      this.compiled = { parts, bindings, sized: new Map() };
    }
    return this.compiled;
  }
}

const MARK = '\u0000param:';
const MAX_SIZED = 500;
const LIST = 'list:';
