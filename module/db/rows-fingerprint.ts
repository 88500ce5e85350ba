import type { Knex } from 'knex';
import { executePrepared } from './execute-prepared.js';
import type { PreparedQuery } from './prepared-query.js';
import { isMysql } from './values.js';

/**
 * A fingerprint of every row and column a prepared query answers, computed by the database: the
 * rows are hashed where they are, and one short row crosses the wire. Two reads with the same
 * fingerprint read the same data, so whatever was made from the first read can be reused for the
 * second (a rendered page: module/http/common/page-cache.ts). Each row's columns, quoted (NULL
 * apart from 'NULL'), are hashed with MD5, and the first 64 bits of the rows' hashes combined with
 * XOR next to the row count: order-free, so no large concatenation (MySQL's group_concat stops at
 * 1 kB by default). The rows of these queries are distinct (each has its snapshot's id), so no two
 * cancel out.
 *
 * MySQL/MariaDB only: on SQLite (no MD5) `of` answers null, and nothing is reused.
 */
export class RowsFingerprint<P extends string> {
  private statement: string | null = null;

  constructor(private readonly db: Knex, private readonly query: PreparedQuery<P>) {}

  /** The fingerprint of what `query.rows(values)` would answer now, or null where none can be made. */
  async of(values: Record<P, unknown>): Promise<string | null> {
    if (!isMysql(this.db)) return null;
    const { sql, params } = this.query.bound(values);
    const statement = this.statement ?? (this.statement = await this.build(sql, params));
    const rows = await executePrepared<{ n: number | string; h: string | null }>(this.db, statement, params);
    const row = rows[0]!;
    return `${String(row.n)}:${String(row.h ?? 0)}`;
  }

  /**
   * The hashing statement, with the query's columns by name (a derived table's rows can only be
   * hashed column by column): the names are read once from the query's own result description.
   */
  private async build(sql: string, params: Knex.RawBinding[]): Promise<string> {
    const [, fields] = await this.db.raw(`select * from (${sql}) as t limit 0`, params) as [unknown, Array<{ name: string }>];
    const columns = fields.map((f) => `quote(t.\`${f.name.replaceAll('`', '``')}\`)`).join(', ');
    // As text: a 64-bit number would lose bits as a JavaScript number.
    return `select count(*) as n, cast(bit_xor(cast(conv(substr(md5(concat_ws(0x1f, ${columns})), 1, 16), 16, 10) as unsigned)) as char) as h from (${sql}) as t`;
  }
}
