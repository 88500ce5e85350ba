import { Agenda, InMemoryNotificationChannel, type Job } from 'agenda';
import type { Logger } from 'pino';
import type { OperationsRepo } from '../db/operations-repo.js';
import type { KnexBackend } from '../scheduler/knex-backend/index.js';
import type { Operation } from '../domain/types.js';
import type { ExecuteContext, ExecuteOutcome } from './execute-operation.js';
import type { OperationRunner } from './runner.js';

export const OPERATION_JOB = 'snapshot-operation';
export const SWEEP_JOB = 'snapshot-operations-sweep';

export interface AgendaRunnerOptions {
  backend: KnexBackend;
  operations: OperationsRepo;
  execute(op: Operation, ctx: ExecuteContext): Promise<ExecuteOutcome>;
  logger: Logger;
  /** How soon an operation waiting for its node looks again (and how often this worker scans for jobs). */
  pollMs: number;
  /** Lock lifetime of a running operation; kept alive while the operation runs. */
  leaseMs: number;
  /** Operations run at once by this process (always on different services). */
  concurrency: number;
  /** Operations running at once on one hypervisor node, across every worker process. */
  perNodeConcurrency: number;
  workerName: string;
}

type OperationJob = Job<{ operationId: number }>;

/**
 * Durable operations on Agenda: the oldest unfinished operation of each service is one Agenda job in
 * the panel's database (the operations table stays the record of what was asked and what happened).
 * Agenda provides the claiming across processes, concurrency, lock lifetime and draining; the
 * operations table's claim adds what Agenda has no notion of: strict order per service and a cap per
 * hypervisor node. When an operation ends, the next one of its service is dispatched; a periodic
 * sweep (one shared job) dispatches anything a crash left without a job.
 */
export class AgendaOperationRunner implements OperationRunner {
  readonly agenda: Agenda;
  private readonly abort = new AbortController();
  /** Job runs and dispatches of this process, so stop() returns only once none touches the database. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Per job id, the runs waiting for Agenda's 'complete', oldest first (a rerun can start before it). */
  private readonly completions = new Map<string, Array<() => void>>();
  private claims = 0;
  private running = false;

  constructor(private readonly o: AgendaRunnerOptions) {
    this.agenda = new Agenda({
      backend: o.backend,
      name: o.workerName,
      processEvery: o.pollMs,
      maxConcurrency: o.concurrency + 1,
      defaultLockLifetime: o.leaseMs,
      // Jobs saved by this process start at once; other processes find them at their next scan.
      notificationChannel: new InMemoryNotificationChannel(),
    });
    // lockLimit = concurrency: a worker never holds jobs it cannot run, which would starve the others.
    this.agenda.define(OPERATION_JOB, (job: OperationJob) => this.track(job, () => this.handle(job)), {
      concurrency: o.concurrency, lockLimit: o.concurrency, lockLifetime: o.leaseMs,
    });
    // Agenda still writes the job's state after the handler returns; a run is over at 'complete'.
    this.agenda.on('complete', (job: Job) => {
      const key = String(job.attrs._id);
      const waiting = this.completions.get(key);
      waiting?.shift()?.();
      if (waiting && !waiting.length) this.completions.delete(key);
    });
    this.agenda.define(SWEEP_JOB, (job: Job) => this.track(job, () => this.dispatch()), { concurrency: 1, lockLifetime: o.leaseMs });
    this.agenda.on('error', (err) => o.logger.error({ err }, 'snapshot operations: agenda error'));
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.agenda.start();
    // Whatever was queued or interrupted while no worker ran gets its job now.
    await this.dispatch();
    await this.agenda.every(this.o.leaseMs, SWEEP_JOB);
  }

  wake(serviceId?: string): void {
    if (!this.running) return;
    const run = this.dispatch(serviceId)
      .catch((err) => this.o.logger.error({ err, serviceId }, 'snapshot operations: dispatch failed'))
      .finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  async stop(options: { drain?: boolean } = {}): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (!options.drain) this.abort.abort();
    // Unlocks jobs this worker holds but has not started; running ones finish (or release) below.
    await this.agenda.stop();
    await Promise.allSettled([...this.inFlight]);
    await this.o.backend.idle();
  }

  /** Ensures the head operation of `serviceId` (or of every service) has its job; idempotent. */
  private async dispatch(serviceId?: string): Promise<void> {
    const heads = serviceId
      ? (await this.o.operations.pendingForService(serviceId)).slice(0, 1)
      : await this.o.operations.heads();
    for (const { id } of heads) {
      await this.agenda.create(OPERATION_JOB, { operationId: id })
        .unique({ 'data.operationId': id }, { insertOnly: true })
        .schedule(new Date())
        .save();
    }
  }

  private track(job: Job, run: () => Promise<void>): Promise<void> {
    const key = String(job.attrs._id);
    const over: Promise<void> = new Promise<void>((resolve) => {
      const waiting = this.completions.get(key) ?? [];
      waiting.push(resolve);
      this.completions.set(key, waiting);
    }).finally(() => this.inFlight.delete(over));
    this.inFlight.add(over);
    return run();
  }

  /**
   * One turn of an operation's job: ends it (removes the job) when there is nothing more for it to
   * do, or reschedules it (`job.schedule`) for a later turn. Removed here rather than by Agenda's
   * removeOnComplete, which would still touch the database after the run counts as complete.
   */
  private async handle(job: OperationJob): Promise<void> {
    const id = Number(job.attrs.data.operationId);
    if (!this.running) {
      job.schedule(new Date());
      return;
    }
    const token = `${this.o.workerName}#${++this.claims}`;
    const claim = await this.o.operations.claim(id, token, this.o.leaseMs, this.o.perNodeConcurrency);
    if (claim.kind === 'done' || claim.kind === 'not_head') {
      await job.remove(); // the head's end dispatches the operations behind it
      return;
    }
    if (claim.kind === 'wait') {
      job.schedule(claim.retryAt ?? new Date(Date.now() + this.o.pollMs));
      return;
    }
    const op = claim.op;
    // The operation's own lease is extended by executeOperation; this keeps Agenda's job lock alive too.
    const beat = setInterval(() => void job.touch().catch(() => undefined), Math.max(20, this.o.leaseMs / 3));
    let outcome: ExecuteOutcome;
    try {
      outcome = await this.o.execute(op, { token, signal: this.abort.signal });
      this.o.logger.info({ op: op.id, kind: op.kind, service: op.serviceId, outcome }, 'snapshot operation');
    } catch (err) {
      this.o.logger.error({ err, op: op.id }, 'snapshot operation crashed; back to the queue');
      const later = new Date(Date.now() + this.o.leaseMs);
      await this.o.operations.requeue(op.id, later, null, false, token).catch(() => undefined);
      job.schedule(later);
      return;
    } finally {
      clearInterval(beat);
    }
    if (outcome === 'requeued' || outcome === 'released') {
      const again = await this.o.operations.get(op.id);
      // Back in the queue: try again when its backoff is over. Otherwise another worker holds it.
      if (again?.status === 'queued') job.schedule(again.runAfter);
      else await job.remove();
      return;
    }
    await job.remove();
    await this.dispatch(op.serviceId);
  }
}
