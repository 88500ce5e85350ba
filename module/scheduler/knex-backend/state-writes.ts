import type { Knex } from 'knex';
import { distinctByKeys, TurnBatcher, type Waiting } from '../../domain/turn-batcher.js';
import { retryingDbErrors } from './db-retry.js';
import { affectedRows, STATE_COLUMNS, type StateColumn } from './job-row.js';
import type { JobTable } from './job-table.js';

/** One job's saveJobState: its row (id and name) and the processor-owned columns to write. */
export interface StateWrite {
  id: string;
  name: string;
  state: Record<StateColumn, Knex.Value>;
}

interface Pending extends Waiting<boolean> {
  w: StateWrite;
}

/** Writes in one statement at most: 9 columns × 2 placeholders a row stay far under either database's limit. */
const MAX_BATCH = 50;
/** Deleted job ids remembered at most. */
const MAX_REMOVED = 10_000;

/**
 * saveJobState's writes, the job store's most frequent statement (every run ends with one), made in
 * the same event-loop turn go to the database as one UPDATE: runs that end together (a batch of
 * scheduled runs answered at once) write their jobs' states together. Each row is written only where
 * its id and name still match, as alone; a batch that finds fewer rows than it has members (a job
 * removed meanwhile) says nothing of which one, so each member is then written again alone, which
 * tells (and rewrites the same values where the row is there). Statements are built once per batch
 * size, never by knex per call. A job written twice in one batch goes in the next, so the later write wins.
 */
export class StateWrites {
  private readonly batcher = new TurnBatcher<Pending>((batch) => this.run(batch), MAX_BATCH);
  private readonly sql = new Map<number, string>();
  private readonly column: (c: string) => string;
  /** Jobs this store deleted, newest last (bounded: only a write soon after the delete matters). */
  private readonly gone = new Set<string>();

  constructor(private readonly t: JobTable) {
    this.column = (c) => t.db.client.wrapIdentifier(c);
  }

  /** Resolves whether the row was there (and is now written). */
  write(w: StateWrite): Promise<boolean> {
    // Agenda still writes the state of a job its handler removed (a service's drained operations
    // job): that row never comes back (ids are random), and in a batch it would send every member again alone.
    if (this.gone.has(w.id)) return Promise.resolve(false);
    return new Promise((resolve, reject) => this.batcher.add({ w, resolve, reject }));
  }

  /** Job `id` was deleted by this store: its state is never written again. */
  removed(id: string): void {
    this.gone.delete(id);
    if (this.gone.size >= MAX_REMOVED) this.gone.delete(this.gone.values().next().value!);
    this.gone.add(id);
  }

  private async run(batch: Pending[]): Promise<void> {
    const { first: now, again: later } = distinctByKeys(batch, (p) => [p.w.id]);
    if (now.length > 1 && (await this.send(now)) === now.length) now.forEach((p) => p.resolve(true));
    else await Promise.all(now.map(async (p) => p.resolve((await this.send([p])) === 1)));
    if (later.length) await this.run(later);
  }

  /** One UPDATE for `list` (distinct ids); the rows it found. */
  private async send(list: Pending[]): Promise<number> {
    const bindings: Knex.RawBinding[] = [];
    if (list.length === 1) {
      const { w } = list[0]!;
      for (const c of STATE_COLUMNS) bindings.push(w.state[c]);
      bindings.push(w.id, w.name);
    } else {
      // SET c = CASE id WHEN ? THEN ? … END for each column, then the ids, then name = CASE id … END.
      for (const c of [...STATE_COLUMNS, 'name'] as const) {
        for (const { w } of list) bindings.push(w.id, c === 'name' ? w.name : w.state[c]);
        if (c === STATE_COLUMNS[STATE_COLUMNS.length - 1]) for (const { w } of list) bindings.push(w.id);
      }
    }
    return affectedRows(await retryingDbErrors(() => this.t.db.raw(this.statement(list.length), bindings), 5));
  }

  private statement(n: number): string {
    let sql = this.sql.get(n);
    if (sql) return sql;
    const { column: q } = this;
    const id = q('id');
    if (n === 1) {
      sql = `UPDATE ${q(this.t.table)} SET ${STATE_COLUMNS.map((c) => `${q(c)} = ?`).join(', ')} WHERE ${id} = ? AND ${q('name')} = ?`;
    } else {
      const cases = ` CASE ${id}${' WHEN ? THEN ?'.repeat(n)} END`;
      sql = `UPDATE ${q(this.t.table)} SET ${STATE_COLUMNS.map((c) => `${q(c)} =${cases}`).join(', ')}`
        + ` WHERE ${id} IN (${Array(n).fill('?').join(', ')}) AND ${q('name')} =${cases}`;
    }
    this.sql.set(n, sql);
    return sql;
  }
}
