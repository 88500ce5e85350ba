import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { OperationsRepo } from '../db/operations-repo.js';
import type { Operation } from '../domain/types.js';
import type { ExecuteContext, ExecuteOutcome } from './execute-operation.js';

/**
 * Runs queued hypervisor operations. The module talks only to this interface, so the in-process
 * poller below can be replaced by a job-queue based runner without touching the domain.
 */
export interface OperationRunner {
  start(): Promise<void>;
  /** Stops claiming; in-flight operations are released back to the queue and resumed later. */
  stop(): Promise<void>;
  /** A hint that work was queued; the runner looks now instead of at its next poll. */
  wake(): void;
}

export interface PollingRunnerOptions {
  operations: OperationsRepo;
  execute(op: Operation, ctx: ExecuteContext): Promise<ExecuteOutcome>;
  logger: Logger;
  pollMs: number;
  leaseMs: number;
  /** Operations run at once by this process (always on different services). */
  concurrency: number;
  /** Operations running at once on one hypervisor node, across every worker process. */
  perNodeConcurrency: number;
  workerId?: string;
}

/** A database-polling runner: claims due operations with a lease, one per service at a time. */
export class PollingRunner implements OperationRunner {
  private readonly workerId: string;
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private ticking = false;
  private again = false;
  private claims = 0;
  private lastRecovery = 0;

  constructor(private readonly o: PollingRunnerOptions) {
    this.workerId = o.workerId ?? `w-${randomUUID().slice(0, 8)}`;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    // Operations whose worker died mid-flight (lease over) are resumed.
    await this.o.operations.recoverExpired();
    this.lastRecovery = Date.now();
    this.timer = setInterval(() => this.wake(), this.o.pollMs);
    this.timer.unref();
    this.wake();
  }

  wake(): void {
    if (!this.running) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    void this.tick()
      .catch((err) => this.o.logger.error({ err }, 'snapshot operation runner: claim failed'))
      .finally(() => {
        this.ticking = false;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.abort.abort();
    await Promise.allSettled(this.inFlight.values());
  }

  private async tick(): Promise<void> {
    // Another process may have died mid-operation while this one keeps running: take its expired
    // leases back into the queue, or that service would stay blocked until some process restarts.
    if (Date.now() - this.lastRecovery > this.o.leaseMs / 2) {
      this.lastRecovery = Date.now();
      await this.o.operations.recoverExpired();
    }
    while (this.running && this.inFlight.size < this.o.concurrency) {
      const token = `${this.workerId}#${++this.claims}`;
      const op = await this.o.operations.claimNext(token, this.o.leaseMs, this.o.perNodeConcurrency);
      if (!op) return;
      const run = this.o.execute(op, { token, signal: this.abort.signal })
        .then((outcome) => this.o.logger.info({ op: op.id, kind: op.kind, service: op.serviceId, outcome }, 'snapshot operation'))
        .catch(async (err) => {
          this.o.logger.error({ err, op: op.id }, 'snapshot operation crashed; back to the queue');
          await this.o.operations.requeue(op.id, new Date(Date.now() + this.o.leaseMs)).catch(() => undefined);
        })
        .finally(() => {
          this.inFlight.delete(op.id);
          this.wake();
        });
      this.inFlight.set(op.id, run);
    }
  }
}
