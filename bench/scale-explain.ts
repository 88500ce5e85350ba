// What bench/scale.ts learns about each page's SQL: the statements a request ran (knex's 'query'
// event) and MariaDB's EXPLAIN of each read, with `ALL` (a full scan) on a big table flagged.
import type { Knex } from 'knex';

export const BIG_TABLES = ['snapshot_snapshots', 'snapshot_audit_events', 'snapshot_operations', 'snapshot_schedules', 'snapshot_services', 'snapshot_jobs'];

export interface Statement { sql: string; bindings: readonly unknown[] }

/** Records the statements run on `db` while `record` is on. */
export class StatementLog {
  private on = false;
  statements: Statement[] = [];
  constructor(db: Knex) {
    db.on('query', (q: { sql: string; bindings?: unknown[] }) => {
      if (this.on) this.statements.push({ sql: q.sql, bindings: q.bindings ?? [] });
    });
  }

  async during<T>(work: () => Promise<T>): Promise<{ result: T; statements: Statement[] }> {
    this.statements = [];
    this.on = true;
    try {
      return { result: await work(), statements: this.statements };
    } finally {
      this.on = false;
    }
  }
}

/**
 * `fullIndex`: an `index` walk estimated at half the table or more (a whole index read, e.g. a count),
 * not a walk that a LIMIT stops early.
 */
export interface PlanLine { table: string; type: string; key: string | null; rows: number; fullScan: boolean; fullIndex: boolean }

/** Rows of each big table (InnoDB's estimate), read once per run. */
async function tableRows(db: Knex): Promise<Map<string, number>> {
  const [rows] = await db.raw('SELECT TABLE_NAME AS t, TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()') as [Array<{ t: string; n: unknown }>];
  return new Map(rows.map((r) => [r.t, Number(r.n)]));
}

/** EXPLAIN of every SELECT among `statements`; `fullScan` marks `ALL` on one of the big tables. */
export async function explainAll(db: Knex, statements: Statement[]): Promise<PlanLine[][]> {
  const out: PlanLine[][] = [];
  const sizes = await tableRows(db);
  for (const s of statements) {
    if (!/^\s*(select|\(select)/i.test(s.sql) || /snapshot_jobs/.test(s.sql) && /for update/i.test(s.sql)) continue;
    const [rows] = await db.raw(`EXPLAIN ${s.sql}`, s.bindings as Knex.RawBinding[]) as [Array<Record<string, unknown>>];
    const aliases = new Map<string, string>();
    for (const m of s.sql.matchAll(/`?(snapshot_\w+)`?\s+as\s+`?(\w+)`?/gi)) aliases.set(m[2]!, m[1]!);
    out.push(rows.map((r) => {
      const shown = String(r.table ?? '');
      const table = aliases.get(shown) ?? shown;
      const type = String(r.type ?? '');
      return { table, type, key: (r.key as string | null) ?? null, rows: Number(r.rows ?? 0), fullScan: type === 'ALL' && BIG_TABLES.includes(table),
        fullIndex: type === 'index' && BIG_TABLES.includes(table) && Number(r.rows ?? 0) >= (sizes.get(table) ?? Infinity) / 2 };
    }));
  }
  return out;
}

/** "table:access(key)~rows" per table of each statement; '!' marks a full scan of a big table, '*' a whole index read. */
export function planSummary(plans: PlanLine[][]): string {
  return plans.map((p) => p.map((l) => `${l.fullScan ? '!' : l.fullIndex ? '*' : ''}${l.table || '-'}:${l.type}${l.key ? `(${l.key})` : ''}~${l.rows}`).join(' ')).join(' | ');
}
