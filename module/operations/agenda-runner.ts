import { Agenda, InMemoryNotificationChannel, type Job } from 'agenda';
import type { Logger } from 'pino';
import type { OperationsRepo } from '../db/operations-repo.js';
import type { KnexBackend } from '../scheduler/knex-backend/index.js';
import type { Operation, Snapshot } from '../domain/types.js';
import type { ExecuteContext, ExecuteOutcome } from './execute-operation.js';
import { LocalNodeSlots } from './node-slots.js';
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
  /** Lease of a running operation and lock lifetime of its service's job, both renewed every third of it while it runs. */
  leaseMs: number;
  /** Operations run at once by this process (always on different services). */
  concurrency: number;
  /** Operations running at once on one hypervisor node, across every worker process. */
  perNodeConcurrency: number;
  workerName: string;
  /** Upkeep of other tables, run by every sweep; its failure is logged and leaves the sweep's work alone. */
  housekeeping?: () => Promise<void>;
}

type ServiceJob = Job<{ serviceId: string }>;

/** The `.unique()` query that makes a service's operations job one row. */
const serviceJobKey = (serviceId: string) => ({ 'data.serviceId': serviceId });

/**
 * Durable operations on Agenda: every service with unfinished operations has one Agenda job in the
 * panel's database, which runs that service's operations one after the other, oldest first (the
 * operations table stays the record of what was asked and what happened). Agenda provides claiming
 * across processes, concurrency, lock lifetime and draining; the operations table's claim adds what
 * Agenda has no notion of: strict order per service and a cap per hypervisor node. One job per
 * service rather than per operation: a backlog costs one job claim, not one per operation. A
 * periodic sweep (one shared job) gives a job to any service a crash left without one.
 */
export class AgendaOperationRunner implements OperationRunner {
  readonly agenda: Agenda;
  private readonly abort = new AbortController();
  /** Job runs and dispatches of this process, so stop() returns only once none touches the database. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Per job id, the runs waiting for Agenda's 'complete', oldest first (a rerun can start before it). */
  private readonly completions = new Map<string, Array<() => void>>();
  /** Services whose job this process is running: a wake for them needs no dispatch (see handle). */
  private readonly active = new Map<string, number>();
  private claims = 0;
  private readonly slots: LocalNodeSlots<ServiceJob>;
  /** Per job id, its latest run's end (Agenda's state write done): a waiting job is woken only after it. */
  private readonly over = new Map<string, Promise<void>>();
  private running = false;

  constructor(private readonly o: AgendaRunnerOptions) {
    // A service waits for a slot here about as long as a parked job waits for its own next run.
    this.slots = new LocalNodeSlots(o.perNodeConcurrency, o.leaseMs);
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
    this.agenda.define(OPERATION_JOB, (job: ServiceJob) => this.track(job, () => this.handle(job)), {
      concurrency: o.concurrency, lockLimit: o.concurrency, lockLifetime: o.leaseMs,
    });
    // Agenda still writes the job's state after the handler returns; a run is over at 'complete'.
    this.agenda.on('complete', (job: Job) => {
      const key = String(job.attrs._id);
      const waiting = this.completions.get(key);
      waiting?.shift()?.();
      if (waiting && !waiting.length) this.completions.delete(key);
    });
    this.agenda.define(SWEEP_JOB, (job: Job) => this.track(job, async () => {
      await this.dispatch();
      await o.housekeeping?.().catch((err: unknown) => o.logger.error({ err }, 'snapshot operations: housekeeping failed'));
    }), { concurrency: 1, lockLifetime: o.leaseMs });
    this.agenda.on('error', (err) => o.logger.error({ err }, 'snapshot operations: agenda error'));
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.agenda.start();
    // Whatever was queued or interrupted while no worker ran gets its job now.
    await this.dispatch();
    // Once a lease: work a crash left without a job waits no longer than the dead worker's leased work.
    await this.agenda.every(this.o.leaseMs, SWEEP_JOB);
  }

  wake(serviceId?: string, queuedBefore = false): void {
    if (!this.running) return;
    if (serviceId !== undefined) this.slots.queued(serviceId);
    if (queuedBefore) return;
    // Its running job claims the new work next, or finds it when it checks after removing itself.
    if (serviceId !== undefined && this.active.has(serviceId)) return;
    const run = this.dispatch(serviceId)
      .catch((err) => this.o.logger.error({ err, serviceId }, 'snapshot operations: dispatch failed'))
      .finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  async stop(options: { drain?: boolean } = {}): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (!options.drain) this.abort.abort();
    this.slots.clear();
    // Unlocks jobs this worker holds but has not started; running ones finish (or release) below.
    await this.agenda.stop();
    await Promise.allSettled([...this.inFlight]);
    await this.o.backend.idle();
  }

  /** Ensures `serviceId` (or every service with work) has its operations job; idempotent. */
  private async dispatch(serviceId?: string): Promise<void> {
    // A wake comes right after work was queued: no need to look first. A job that finds nothing goes.
    const services = serviceId ? [serviceId] : await this.o.operations.servicesWithWork();
    for (const id of services) {
      await this.agenda.create(OPERATION_JOB, { serviceId: id })
        .unique(serviceJobKey(id), { insertOnly: true })
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
    }).finally(() => {
      this.inFlight.delete(over);
      if (this.over.get(key) === over) this.over.delete(key);
    });
    this.inFlight.add(over);
    this.over.set(key, over);
    return run();
  }

  /**
   * One turn of a service's job: runs its operations in order while they may run, then reschedules
   * itself (`job.schedule`) for when the head may run (backoff over, node free, lease expired), or
   * removes itself when none is left. Removed here rather than by Agenda's removeOnComplete, which
   * would still touch the database after the run counts as complete.
   *
   * The slot on its node is held from its first claim until the job gives it up (no work left, head
   * not due, or a waiting service with clearly more work left): between two of its operations no other
   * job of this process can take it, and the slot goes to the waiting job with the most work left.
   */
  private async handle(job: ServiceJob): Promise<void> {
    const serviceId = String(job.attrs.data.serviceId);
    // The operations' own leases are extended by executeOperation; this keeps Agenda's job lock alive too.
    const beat = setInterval(() => void job.touch().catch(() => undefined), Math.max(20, this.o.leaseMs / 3));
    let counted = true;
    const leave = () => {
      if (!counted) return;
      counted = false;
      const n = (this.active.get(serviceId) ?? 1) - 1;
      if (n > 0) this.active.set(serviceId, n);
      else this.active.delete(serviceId);
    };
    this.active.set(serviceId, (this.active.get(serviceId) ?? 0) + 1);
    this.slots.unwait(serviceId);
    let holding: string | undefined;
    // This service leaves its node's slot: the waiting job with the most work left runs now.
    const release = () => {
      if (holding === undefined) return;
      const node = holding;
      holding = undefined;
      this.slots.ended(node);
      this.nudge(node);
    };
    // It waits for a slot here to free up (see release), or a lease at most.
    const park = (node: string) => {
      job.schedule(new Date(Date.now() + this.o.leaseMs));
      this.slots.wait(node, serviceId, job);
    };
    try {
      while (this.running) {
        // Its node already runs its cap from this very process: no claim could succeed, so none is
        // tried (in a rush most services wait on a full node, and each claim costs a transaction).
        const node = this.slots.nodeOf(serviceId);
        if (node !== undefined && node !== holding && this.slots.full(node)) return park(node);
        const token = `${this.o.workerName}#${++this.claims}`;
        const claim = await this.o.operations.claimHead({ serviceId, worker: token, leaseMs: this.o.leaseMs, perNode: this.o.perNodeConcurrency });
        if (claim.kind === 'wait') {
          release();
          if (claim.node !== undefined) {
            this.slots.seen(serviceId, claim.node, claim.backlog);
            // Full with this process's own operations: one of them ends first, and hands its slot over.
            if (claim.reason === 'node_busy' && this.slots.full(claim.node)) return park(claim.node);
          }
          job.schedule(claim.retryAt ?? new Date(Date.now() + this.o.pollMs));
          return;
        }
        if (claim.kind === 'claimed') {
          const on = `${claim.op.target.driver}/${claim.op.target.node}`;
          if (holding !== on) {
            release();
            this.slots.started(serviceId, on);
            holding = on;
          }
          // Whatever the outcome (done, back in the queue for a retry, lease lost), the next claim says what follows.
          this.slots.seen(serviceId, on, claim.backlog);
          await this.runClaimed(claim.op, token, claim.snapshot);
          this.slots.ran(serviceId);
          const left = this.slots.backlogOf(serviceId);
          if (left > 0 && this.slots.shouldYield(on, left)) {
            // Per-service order runs each queue one at a time: the longest must not be left to run alone at
            // the end, nor a short one wait on for more than a lease.
            park(on);
            return;
          }
          continue;
        }
        // Nothing left. Wakes dispatch again from here on; work queued in between is found below.
        release();
        leave();
        this.slots.forget(serviceId);
        await job.remove();
        if ((await this.o.operations.pendingForService(serviceId)).length) await this.dispatch(serviceId);
        return;
      }
      leave();
      // Stopping: what is left goes to the next worker at once; a drained service needs no job.
      if ((await this.o.operations.pendingForService(serviceId)).length) job.schedule(new Date());
      else await job.remove();
    } catch (err) {
      // A failed job would keep its row with no next run, and the sweep never replaces an existing job.
      this.o.logger.error({ err, serviceId }, 'snapshot operations: service job failed; trying again');
      job.schedule(new Date(Date.now() + this.o.pollMs));
    } finally {
      leave();
      clearInterval(beat);
      release();
    }
  }

  /** Runs now the job waiting for a slot on `node` in this process with the most work left (saved, Agenda starts it at once). */
  private nudge(node: string): void {
    const waiting = this.running && !this.slots.full(node) ? this.slots.next(node) : undefined;
    if (!waiting) return;
    // Agenda's write at the end of the run that made it wait would undo an earlier wake.
    const saved = Promise.resolve(this.over.get(String(waiting.attrs._id)))
      .then(() => waiting.schedule(new Date()).save())
      .catch((err: unknown) => this.o.logger.error({ err }, 'snapshot operations: waking a waiting service failed'))
      .finally(() => this.inFlight.delete(saved));
    this.inFlight.add(saved);
  }

  private async runClaimed(op: Operation, token: string, snapshot?: Snapshot | null): Promise<void> {
    try {
      const outcome = await this.o.execute(op, { token, signal: this.abort.signal, ...(snapshot !== undefined ? { snapshot } : {}) });
      this.o.logger.info({ op: op.id, kind: op.kind, service: op.serviceId, outcome }, 'snapshot operation');
    } catch (err) {
      this.o.logger.error({ err, op: op.id }, 'snapshot operation crashed; back to the queue');
      await this.o.operations.requeue(op.id, token, new Date(Date.now() + this.o.leaseMs)).catch(() => undefined);
    }
  }
}
