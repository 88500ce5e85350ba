import type { Knex } from 'knex';
import { executePrepared } from './execute-prepared.js';
import { isMysql } from './values.js';

/** Rows of one table: `where` selects them, with `?` for the values `TablesFingerprint.of` is given by name. */
export interface FingerprintPart<P extends string = string> {
  table: string;
  where: string;
  /** The names of the values for `where`'s `?`s, in order. */
  params: readonly P[];
}

/**
 * A fingerprint of some tables' rows, computed by the database: each part's rows are hashed where
 * they are (every column, quoted, so NULL differs from 'NULL'; MD5; the rows' first 64 bits combined
 * with XOR next to their count: order-free, and no long concatenation, which MySQL's group_concat
 * would cut at 1 kB by default), and one short row crosses the wire. Equal fingerprints, equal rows;
 * so whatever was made from reading those rows can be reused (a rendered page:
 * module/http/common/page-cache.ts). The columns are every column the table has, read once, so a
 * column added later is covered without anyone remembering to add it.
 *
 * MD5, not CRC32: CRC is linear, so the XOR of two rows' CRCs can stay the same when the rows
 * trade a value (two snapshots swapping names), and the page would not be rendered again.
 *
 * Each part is a plain indexed read: wrapping the page's own query instead (its joins and
 * subqueries) cost MariaDB three times as much, most of it planning the statement, on every view.
 *
 * MySQL/MariaDB only: on SQLite (no MD5) `of` answers null, and nothing is reused.
 */
export class TablesFingerprint<P extends string> {
  private statement: Promise<string> | null = null;

  constructor(private readonly db: Knex, readonly parts: readonly FingerprintPart<P>[]) {}

  /** The fingerprint of the parts' rows now, or null where none can be made. */
  async of(values: Record<P, string>): Promise<string | null> {
    if (!isMysql(this.db)) return null;
    // A failed build (the database away for a moment) is not kept: the next view builds again.
    const statement = await (this.statement ??= this.build().catch((err: unknown) => {
      this.statement = null;
      throw err;
    }));
    const params = this.parts.flatMap((p) => p.params.map((name) => values[name]));
    const [row] = await executePrepared<Record<string, string>>(this.db, statement, params);
    return this.parts.map((_, i) => row![`f${i}`]).join('/');
  }

  private async build(): Promise<string> {
    const parts = await Promise.all(this.parts.map(async (part, i) => {
      const names = Object.keys(await this.db(part.table).columnInfo());
      // knex answers a missing table with no columns: not a statement to keep.
      if (!names.length) throw new Error(`TablesFingerprint: no columns found for table ${part.table}`);
      const columns = names.map((c) => `quote(\`${c.replaceAll('`', '``')}\`)`).join(', ');
      const hash = `coalesce(bit_xor(cast(conv(substr(md5(concat_ws(0x1f, ${columns})), 1, 16), 16, 10) as unsigned)), 0)`;
      return `(select concat(count(*), ':', ${hash}) from \`${part.table}\` where ${part.where}) as f${i}`;
    }));
    return `select ${parts.join(', ')}`;
  }
}
