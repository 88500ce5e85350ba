import type { Knex } from 'knex';
import type { SnapshotStatus } from '../domain/status.js';
import type { AuditEvent, Operation, OperationKind, OperationStatus, Snapshot } from '../domain/types.js';
import { fromRow as auditFromRow } from './audit-repo.js';
import { fromRow as operationFromRow } from './operations-repo.js';
import { fromRow as snapshotFromRow } from './snapshots-repo.js';
import { parseJson, toDate, toDateOrNull } from './values.js';

/**
 * One page of a list newest first, by id: the rows older than `before`, or (`after`) the page just
 * newer than `after`; neither: the newest. Each page reads `limit + 1` rows off an index, however far
 * back it is, where OFFSET read every row before it and a count read the whole table.
 */
export interface Page {
  before?: number;
  after?: number;
  limit: number;
}

/** `older` / `newer`: the cursors of the neighbouring pages (`before=` / `after=`), null at either end. */
export interface Paged<T> {
  rows: T[];
  older: number | null;
  newer: number | null;
}

/** Every audit result but 'ok' (AuditEvent['result']). */
const NOT_OK = ['refused', 'failed'];

/** Runs whose lateness the health page summarises per window, newest first. */
export const DELAY_SAMPLE = 1_000;

/** Problem counts stop here (shown as "1000+"): reading every row of a big problem to say how big is not worth it. */
export const COUNT_CAP = 1_000;

/** Problems an admin looks for; `stuck` means in progress and untouched for longer than `stuckBefore`. */
export type Problem = 'errors' | 'unmanaged' | 'stuck';

export interface SnapshotFilter {
  status?: SnapshotStatus;
  problem?: Problem;
  serviceId?: string;
  customerId?: string;
  stuckBefore: Date;
}

export interface OperationFilter {
  status?: OperationStatus;
  kind?: OperationKind;
  problem?: Exclude<Problem, 'unmanaged'>;
  serviceId?: string;
  customerId?: string;
  stuckBefore: Date;
}

export interface AuditFilter {
  serviceId?: string;
  actorId?: string;
  actorType?: string;
  /** Matches the action itself or any action under it ('admin' matches 'admin.adopt'). */
  action?: string;
  from?: Date;
  to?: Date;
}

/** Counts of the operation queue, each capped at COUNT_CAP + 1 (more than the cap: "1000+"). */
export interface OperationStats {
  queued: number;
  running: number;
  failed: number;
  oldestQueuedAt: Date | null;
}

/** How a scheduled occurrence ended, as the health page counts it. */
export type RunOutcome = 'succeeded' | 'failed' | 'skipped' | 'missed' | 'not_run';

export interface RunCount {
  serviceId: string | null;
  outcome: RunOutcome;
  n: number;
}

/**
 * A scheduled run's outcome from its audit event: the run itself (`schedule.run`), or the hypervisor's
 * answer to the snapshot it started (`operation.create` by the schedule), which is what "succeeded" means.
 */
function runOutcome(action: string, result: string, code: string | null): RunOutcome | null {
  if (action === 'operation.create') return result === 'ok' ? 'succeeded' : 'failed';
  if (result === 'ok') return null; // started: counted when its snapshot is taken or fails
  if (result === 'failed') return 'failed';
  if (code === 'snapshot_limit_reached' || code === 'limit_reached') return 'skipped';
  return code === 'missed' ? 'missed' : 'not_run';
}

/** Read-only queries of the admin browser and audit log: filters and one page, or a capped count. */
export class AdminQueries {
  constructor(private readonly db: Knex) {}

  async snapshots(f: SnapshotFilter, page: Page): Promise<Paged<Snapshot>> {
    return this.paged(this.snapshotQuery(f), page, snapshotFromRow);
  }

  /** How many snapshots match, up to COUNT_CAP + 1. */
  async countSnapshots(f: SnapshotFilter): Promise<number> {
    return this.capped(this.snapshotQuery(f));
  }

  async operations(f: OperationFilter, page: Page): Promise<Paged<Operation>> {
    return this.paged(this.operationQuery(f), page, operationFromRow);
  }

  /** How many operations match, up to COUNT_CAP + 1. */
  async countOperations(f: OperationFilter): Promise<number> {
    return this.capped(this.operationQuery(f));
  }

  private snapshotQuery(f: SnapshotFilter): Knex.QueryBuilder {
    const q = this.db('snapshot_snapshots');
    if (f.status) q.where({ status: f.status });
    if (f.problem === 'errors') q.whereIn('status', ['error', 'failed']);
    if (f.problem === 'unmanaged') q.where({ status: 'unmanaged' });
    if (f.problem === 'stuck') q.whereIn('status', ['creating', 'restoring', 'deleting']).where('updated_at', '<', f.stuckBefore);
    this.byServiceOrCustomer(q, f);
    return q;
  }

  private operationQuery(f: OperationFilter): Knex.QueryBuilder {
    const q = this.db('snapshot_operations');
    if (f.status) q.where({ status: f.status });
    if (f.kind) q.where({ kind: f.kind });
    if (f.problem === 'errors') q.where({ status: 'failed' });
    if (f.problem === 'stuck') {
      q.where((w) => w.where((r) => r.where({ status: 'running' }).where('started_at', '<', f.stuckBefore))
        .orWhere((r) => r.where({ status: 'queued' }).where('run_after', '<', f.stuckBefore)));
    }
    this.byServiceOrCustomer(q, f);
    return q;
  }

  async audit(f: AuditFilter, page: Page): Promise<Paged<AuditEvent>> {
    const q = this.db('snapshot_audit_events');
    if (f.serviceId) q.where({ service_id: f.serviceId });
    if (f.actorId) q.where({ actor_id: f.actorId });
    if (f.actorType) q.where({ actor_type: f.actorType });
    if (f.action) q.where((w) => w.where({ action: f.action }).orWhereRaw("action LIKE ? ESCAPE '!'", [`${escapeLike(f.action!)}.%`]));
    if (f.from) q.where('occurred_at', '>=', f.from);
    if (f.to) q.where('occurred_at', '<', f.to);
    return this.paged(q, page, auditFromRow);
  }

  /** Counts of the operation queue for the scheduler health page. */
  async operationStats(): Promise<OperationStats> {
    // Each through the (status, …) indexes: a count grouped by status read the whole table, succeeded rows and all.
    const count = (status: OperationStatus) => this.capped(this.db('snapshot_operations').where({ status }));
    const [queued, running, failed, oldest] = await Promise.all([
      count('queued'), count('running'), count('failed'), this.db('snapshot_operations').where({ status: 'queued' }).min({ at: 'run_after' }).first(),
    ]);
    return { queued, running, failed, oldestQueuedAt: toDateOrNull(oldest?.at) };
  }

  /**
   * Scheduled runs since `since`: totals per outcome, and per service only the runs that went wrong,
   * plus the successes of the `worst` services with problems (the ones a page lists). Every statement
   * reads one action's rows through the (action, occurred_at) index and groups them in the database:
   * a week of 10,000 services' runs never comes to Node row by row, nor as one group per service.
   */
  async scheduleRunCounts(since: Date, worst = 20): Promise<{ totals: Record<RunOutcome, number>; problems: RunCount[] }> {
    type Row = { service_id?: string | null; result: string; code?: string | null; n: unknown };
    // Results named, never `<> 'ok'`: ranges of the (action, result, actor_type, occurred_at, service_id) index.
    const runs = (results: string[]) => this.db('snapshot_audit_events').where({ action: 'schedule.run' }).whereIn('result', results).where('occurred_at', '>=', since);
    const creates = (results: string[]) => this.db('snapshot_audit_events').where({ action: 'operation.create' }).whereIn('result', results)
      .where({ actor_type: 'schedule' }).where('occurred_at', '>=', since);
    // A started run counts once its snapshot is taken or fails (its operation.create): only refusals and failures here.
    const [runRows, createTotals, createFailures] = await Promise.all([
      runs(NOT_OK).select('service_id', 'result', 'code').count({ n: '*' }).groupBy('service_id', 'result', 'code') as Promise<Row[]>,
      creates(['ok', ...NOT_OK]).select('result').count({ n: '*' }).groupBy('result') as Promise<Row[]>,
      creates(NOT_OK).select('service_id', 'result').count({ n: '*' }).groupBy('service_id', 'result') as Promise<Row[]>,
    ]);
    const totals = Object.fromEntries((['succeeded', 'failed', 'skipped', 'missed', 'not_run'] as const).map((o) => [o, 0])) as Record<RunOutcome, number>;
    const counts = new Map<string, RunCount>();
    const add = (serviceId: string | null, outcome: RunOutcome | null, n: number, total: boolean) => {
      if (!outcome) return;
      if (total) totals[outcome] += n;
      if (serviceId === null) return;
      const key = `${serviceId}\u0000${outcome}`;
      const c = counts.get(key) ?? { serviceId, outcome, n: 0 };
      c.n += n;
      counts.set(key, c);
    };
    for (const r of runRows) add(r.service_id ?? null, runOutcome('schedule.run', r.result, r.code ?? null), Number(r.n), true);
    for (const r of createTotals) add(null, runOutcome('operation.create', r.result, null), Number(r.n), true);
    for (const r of createFailures) add(r.service_id ?? null, 'failed', Number(r.n), false);
    const byService = new Map<string, number>();
    for (const c of counts.values()) if (c.outcome !== 'not_run') byService.set(c.serviceId!, (byService.get(c.serviceId!) ?? 0) + c.n);
    const listed = [...byService].sort(([a, na], [b, nb]) => nb - na || a.localeCompare(b)).slice(0, worst).map(([id]) => id);
    if (listed.length) {
      const ok = await creates(['ok']).whereIn('service_id', listed).select('service_id').count({ n: '*' }).groupBy('service_id') as Row[];
      for (const r of ok) add(r.service_id ?? null, 'succeeded', Number(r.n), false);
    }
    return { totals, problems: [...counts.values()] };
  }

  /**
   * How late the newest `cap` runs since `since` started, in milliseconds: the event's time minus the
   * occurrence it stands for (stored in its details; runs recorded before that was stored are left
   * out). `sampled`: there were more runs than the cap, so the figures describe the newest ones.
   */
  async scheduleRunDelays(since: Date, cap = DELAY_SAMPLE): Promise<{ delays: number[]; sampled: boolean }> {
    const rows: { occurred_at: unknown; details: unknown }[] = await this.db('snapshot_audit_events')
      .where({ action: 'schedule.run', result: 'ok' }).where('occurred_at', '>=', since)
      .orderBy('occurred_at', 'desc').limit(cap + 1).select('occurred_at', 'details');
    const delays: number[] = [];
    for (const r of rows.slice(0, cap)) {
      const occurrence = Date.parse(String(parseJson<{ occurrence?: unknown } | null>(r.details, null)?.occurrence ?? ''));
      if (Number.isFinite(occurrence)) delays.push(Math.max(0, toDate(r.occurred_at).getTime() - occurrence));
    }
    return { delays, sampled: rows.length > cap };
  }

  /** Names of these snapshots (for pages that list operations by snapshot id). */
  async snapshotNames(ids: number[]): Promise<Map<number, string>> {
    const unique = [...new Set(ids)];
    if (!unique.length) return new Map();
    const rows: { id: unknown; name: string }[] = await this.db('snapshot_snapshots').whereIn('id', unique).select('id', 'name');
    return new Map(rows.map((r) => [Number(r.id), r.name]));
  }

  /** Name and service of these schedules (next runs on the health page are known only by schedule id). */
  async schedulesByIds(ids: number[]): Promise<Map<number, { name: string; serviceId: string }>> {
    const unique = [...new Set(ids)];
    if (!unique.length) return new Map();
    const rows: { id: unknown; name: string; service_id: string }[] = await this.db('snapshot_schedules').whereIn('id', unique).select('id', 'name', 'service_id');
    return new Map(rows.map((r) => [Number(r.id), { name: r.name, serviceId: r.service_id }]));
  }

  private byServiceOrCustomer(q: Knex.QueryBuilder, f: { serviceId?: string; customerId?: string }): void {
    if (f.serviceId) q.where('service_id', f.serviceId);
    if (f.customerId) q.whereIn('service_id', this.db('snapshot_services').where({ owner_id: f.customerId }).select('service_id'));
  }

  /**
   * One page by id, newest first, reading one row past it to know whether there is more that way.
   * Going newer reads upwards from `after` and turns the rows round.
   */
  private async paged<T>(q: Knex.QueryBuilder, page: Page, map: (r: Record<string, unknown>) => T): Promise<Paged<T>> {
    const up = page.after !== undefined && page.before === undefined;
    const read = q.clone().select('*').limit(page.limit + 1);
    if (up) read.where('id', '>', page.after!).orderBy('id', 'asc');
    else {
      if (page.before !== undefined) read.where('id', '<', page.before);
      read.orderBy('id', 'desc');
    }
    const got = (await read) as Record<string, unknown>[];
    const more = got.length > page.limit;
    const rows = got.slice(0, page.limit);
    if (up) rows.reverse();
    const first = rows.length ? Number(rows[0]!.id) : null;
    const last = rows.length ? Number(rows.at(-1)!.id) : null;
    return {
      rows: rows.map(map),
      // Where a page came from, the way back holds rows (unless they were deleted meanwhile).
      older: up ? last : more ? last : null,
      newer: up ? (more ? first : null) : page.before !== undefined ? first : null,
    };
  }

  /** count(*) of at most COUNT_CAP + 1 rows: the answer stays cheap however many match. */
  private async capped(q: Knex.QueryBuilder): Promise<number> {
    const row = await this.db.from(q.clone().select(this.db.raw('1 as one')).limit(COUNT_CAP + 1).as('capped')).count({ n: '*' }).first();
    return Number((row as { n?: unknown } | undefined)?.n ?? 0);
  }
}

/** '!' as LIKE's escape character: the one spelling SQLite and MySQL read the same way. */
function escapeLike(s: string): string {
  return s.replace(/[!%_]/g, (c) => `!${c}`);
}
