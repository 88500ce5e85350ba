import type { Knex } from 'knex';
import type { Operation, Snapshot } from '../domain/types.js';

export const OPERATIONS = 'snapshot_operations';

/** What a claim attempt found: the operation, a reason to look again later, or nothing left to do. */
export type ClaimResult =
  /**
   * `snapshot`: the operation's snapshot record as read under the claim's locks (null: none, or
   * removed), so the run need not read it again; absent where the claim did not read it.
   */
  | { kind: 'claimed'; op: Operation; snapshot?: Snapshot | null; backlog?: number }
  | { kind: 'wait'; reason: 'backoff' | 'held' | 'node_busy'; retryAt: Date | null; node?: string; backlog?: number }
  | { kind: 'idle' };

export interface ClaimRequest {
  serviceId: string;
  /** Unique per claim (the runner appends a counter): the lease holder's name. */
  worker: string;
  leaseMs: number;
  /** Operations running at once on one hypervisor node, across every worker process. */
  perNode: number;
}

/** The key of an operation's hypervisor node, as `snapshot_nodes` and the runner name it. */
export const nodeKeyOf = (op: Operation): string => `${op.target.driver}/${op.target.node}`;

/** Why the head may not run yet, judged from the row as read. */
export function notDue(head: Operation, now: Date): ClaimResult | null {
  if (head.status === 'queued' && head.runAfter > now) return { kind: 'wait', reason: 'backoff', retryAt: head.runAfter };
  if (head.status === 'running' && head.lockedUntil && head.lockedUntil >= now) return { kind: 'wait', reason: 'held', retryAt: head.lockedUntil };
  return null;
}

/**
 * `backlog` (on a claim or a busy node): the service's unfinished operations as the claim read them,
 * its head included; the runner gives a freed slot to the service with the most work left.
 */
const withBacklog = (backlog?: number) => (backlog !== undefined ? { backlog } : {});

/** A claim that could not be made now (node full, service held by a create, head changed): look again later. */
export const nodeBusy = (head: Operation, backlog?: number): ClaimResult =>
  ({ kind: 'wait', reason: 'node_busy', retryAt: null, node: nodeKeyOf(head), ...withBacklog(backlog) });

/**
 * The head as the claiming UPDATE left it: its lease runs from `at`; `startedAt` (default `at`) is the
 * start recorded on a first claim. `snapshot`, `backlog`: what the claim read (see ClaimResult).
 */
export function claimed(head: Operation, r: ClaimRequest, at: Date,
  read: { snapshot?: Snapshot | null; backlog?: number; startedAt?: Date } = {}): ClaimResult {
  return {
    kind: 'claimed', ...(read.snapshot !== undefined ? { snapshot: read.snapshot } : {}), ...withBacklog(read.backlog),
    op: { ...head, status: 'running', lockedBy: r.worker, lockedUntil: new Date(at.getTime() + r.leaseMs), attempts: head.attempts + 1, startedAt: head.startedAt ?? read.startedAt ?? at },
  };
}

/** Rows of an UPDATE that claims only while due, in the row as the UPDATE finds it (InnoDB's current read). */
export function whereDue(at: Date): (q: Knex.QueryBuilder) => void {
  return (due) => due
    .where((q) => q.where({ status: 'queued' }).where('run_after', '<=', at))
    .orWhere((q) => q.where({ status: 'running' }).where('locked_until', '<', at));
}
