import { randomUUID } from 'node:crypto';
import type { JobRow, JobTable } from './job-table.js';

/** How long jobs locked ahead wait to be handed out before they are unlocked again. */
export const HOLD_MS = 300;
/** The most jobs one claiming statement locks. */
const MAX_BATCH = 16;

interface Held {
  rows: JobRow[];
  lockedAt: Date;
  by: string;
  timer: NodeJS.Timeout;
}

/**
 * Jobs a worker locked in one statement ahead of Agenda asking for them, one per getNextJobToRun.
 * While a worker fills its queue (a rush: thousands due at once) one UPDATE then locks several jobs
 * instead of one each. The batch adapts per job name: it doubles while Agenda takes every job locked
 * ahead, and falls back when jobs are left over (Agenda stopped asking: a lock limit, or the queue is
 * full); leftovers are unlocked after HOLD_MS, guarded by this worker's lock time and name, so a job
 * is never unlocked under another worker. A held job is handed out only while most of its lock life
 * is left, so one whose lock expired meanwhile (and that another worker may have claimed) never runs here.
 */
export class HeldJobs {
  private readonly held = new Map<string, Held>();
  private readonly batch = new Map<string, number>();
  private readonly releasing = new Set<Promise<unknown>>();
  /** Marks this worker's locks when Agenda runs without a name (lastModifiedBy is then ours). */
  readonly token = `knex-job-store-${randomUUID().slice(0, 8)}`;
  private lastStamp = 0;

  constructor(private readonly t: JobTable) {}

  /**
   * The lock time for one claiming statement: `now`, moved past the previous one. A claim finds the
   * rows it won, and a release the rows it may unlock, by lock time and worker name; Agenda runs fills
   * of one job name side by side (its scan and a notification), and two statements stamped with the
   * same millisecond would each take the other's rows for their own and hand them out twice.
   */
  stamp(now: Date = new Date()): Date {
    this.lastStamp = Math.max(now.getTime(), this.lastStamp + 1);
    return new Date(this.lastStamp);
  }

  /** How many jobs of `name` the next claiming statement may lock. */
  batchSize(name: string): number {
    return this.batch.get(name) ?? 1;
  }

  /** The next job locked ahead, if its lock has life left beyond `lockDeadline` + HOLD_MS. */
  take(name: string, lockDeadline: Date): JobRow | undefined {
    const h = this.held.get(name);
    if (!h) return undefined;
    if (h.lockedAt.getTime() - lockDeadline.getTime() <= HOLD_MS) {
      this.release(name);
      return undefined;
    }
    const row = h.rows.shift();
    if (!h.rows.length) this.done(name, h);
    return row;
  }

  /** Jobs just locked by `by` at `lockedAt` beyond the one handed out now; a batch taken whole grows the next. */
  hold(name: string, rows: JobRow[], lockedAt: Date, by: string): void {
    if (!rows.length) {
      this.batch.set(name, Math.min(MAX_BATCH, this.batchSize(name) * 2));
      return;
    }
    this.release(name);
    const timer = setTimeout(() => this.release(name, true), HOLD_MS);
    timer.unref();
    this.held.set(name, { rows, lockedAt, by, timer });
  }

  /** Unlocks every job held ahead (Agenda is stopping or unlocking its own). */
  async releaseAll(): Promise<void> {
    for (const name of [...this.held.keys()]) this.release(name);
    await Promise.allSettled([...this.releasing]);
  }

  private done(name: string, h: Held): void {
    clearTimeout(h.timer);
    this.held.delete(name);
    this.batch.set(name, Math.min(MAX_BATCH, this.batchSize(name) * 2));
  }

  /** Drops the held jobs of `name` (synchronously: none can be handed out after this) and unlocks them. */
  private release(name: string, leftOver = false): void {
    const h = this.held.get(name);
    if (!h) return;
    clearTimeout(h.timer);
    this.held.delete(name);
    if (leftOver) this.batch.set(name, Math.max(1, Math.floor(this.batchSize(name) / 4)));
    const ids = h.rows.map((r) => String(r.id));
    const unlock = this.t.db(this.t.table).whereIn('id', ids).where({ locked_at: h.lockedAt, last_modified_by: h.by })
      .update({ locked_at: null })
      // Not unlocked (the database went away): the locks expire with their lifetime, as after a crash.
      .catch(() => undefined)
      .finally(() => this.releasing.delete(unlock));
    this.releasing.add(unlock);
  }

  /** Resolves once no unlock is under way (the host may destroy its knex after that). */
  async idle(): Promise<void> {
    while (this.releasing.size) await Promise.allSettled([...this.releasing]);
  }
}
