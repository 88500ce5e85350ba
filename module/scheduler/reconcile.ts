import type { DomainDeps } from '../domain/deps.js';
import { endClone, reportEnded } from '../domain/clone/end-clone.js';
import { DriverError } from '../drivers/contract.js';
import type { PanelService, Snapshot } from '../domain/types.js';

export interface ReconcileSummary {
  serviceId: string;
  vanished: number;
  unmanaged: number;
  stuck: number;
  /** Snapshots the hypervisor has not finished (`snapstate`): never Current, shown to an admin as errors. */
  incomplete: number;
  /**
   * busy: operations in flight; unreachable: no list; guest_missing: the guest is on no node;
   * implausible: every snapshot of the service would have vanished at once (see below).
   */
  skipped?: 'busy' | 'unreachable' | 'guest_missing' | 'implausible';
}

const ACTOR = { type: 'reconcile' as const, id: null };

/**
 * Compares one service's hypervisor snapshots with our records: a record whose snapshot is
 * gone becomes `error` (an admin force-removes it); a snapshot carrying our name prefix with no record
 * becomes an `unmanaged` record (an admin adopts or deletes it). A service with operations in flight is
 * left for the next pass, so a create that just finished is never mistaken for drift.
 */
export async function reconcileService(deps: DomainDeps, service: PanelService, prefix: string): Promise<ReconcileSummary> {
  const { repos } = deps;
  const summary: ReconcileSummary = { serviceId: service.id, vanished: 0, unmanaged: 0, stuck: 0, incomplete: 0 };
  // One statement reads the records and the pending operations together. Only these records are
  // judged: a create committed after it is `creating` with its task not started (a panel starting
  // mid-rush), and would look vanished.
  const read = await repos.snapshots.listWithPending(service.id);
  if (read.pending > 0) return { ...summary, skipped: 'busy' };
  const settled = new Set(read.snapshots.map((r) => r.id));
  let listed;
  try {
    listed = await deps.driver(service.target.driver).list(service.target);
  } catch (err) {
    // A guest that is gone says nothing about its snapshots: its records stay for an admin.
    return { ...summary, skipped: err instanceof DriverError && err.code === 'guest_missing' ? 'guest_missing' : 'unreachable' };
  }
  const onHypervisor = new Map(listed.map((s) => [s.name, s]));
  // Read again only when the hypervisor shows a name of ours the records lacked: a create made and
  // finished since the read above has a record now, which must not become an unmanaged twin. Status
  // changes since the read need no second look: every write below is conditional on the status read.
  const recorded = new Set(read.snapshots.map((r) => r.hvName));
  const unknownOfOurs = listed.some((s) => !recorded.has(s.name) && s.name.startsWith(`${prefix}-`));
  const rows = unknownOfOurs ? await repos.snapshots.listForService(service.id) : read.snapshots;
  if (implausible(rows.filter((r) => settled.has(r.id)), onHypervisor)) {
    await repos.audit.record({ actor: ACTOR, serviceId: service.id, action: 'reconcile.implausible', result: 'refused', details: { listed: listed.length, records: rows.length } });
    return { ...summary, skipped: 'implausible' };
  }
  for (const row of rows) {
    const unfinished = onHypervisor.get(row.hvName)?.incomplete;
    if (settled.has(row.id) && unfinished && row.status === 'active') {
      if (await repos.snapshots.transition(row.id, 'active', { status: 'error', errorCode: 'snapshot_incomplete', errorMessage: `snapstate ${unfinished} on the hypervisor` })) {
        summary.incomplete += 1;
        await repos.audit.record({ actor: ACTOR, serviceId: service.id, snapshotId: row.id, snapshotName: row.name, action: 'reconcile.incomplete', result: 'ok', fromStatus: 'active', toStatus: 'error', code: 'snapshot_incomplete', details: { snapstate: unfinished } });
      }
      continue;
    }
    if (!settled.has(row.id) || onHypervisor.has(row.hvName) || !['active', 'creating', 'restoring', 'deleting'].includes(row.status)) continue;
    // deleting + gone is simply a finished delete whose operation record was lost: drop the row.
    if (row.status === 'deleting') {
      await repos.snapshots.remove(row.id);
    } else if (!(await repos.snapshots.transition(row.id, row.status, { status: 'error', errorCode: 'snapshot_vanished', errorMessage: 'not found on the hypervisor' }))) {
      continue; // changed since it was read (an operation queued meanwhile): the next pass looks again
    }
    summary.vanished += 1;
    await repos.audit.record({ actor: ACTOR, serviceId: service.id, snapshotId: row.id, snapshotName: row.name, action: 'reconcile.vanished', result: 'ok', fromStatus: row.status, toStatus: row.status === 'deleting' ? 'deleted' : 'error' });
  }
  const known = new Set(rows.map((r) => r.hvName));
  for (const snap of listed) {
    if (known.has(snap.name) || !snap.name.startsWith(`${prefix}-`)) continue;
    // An unfinished one (a create of ours that died half way) is recorded as an error, not as something to adopt.
    const status = snap.incomplete ? 'error' : 'unmanaged';
    const { id } = await repos.snapshots.insert({
      serviceId: service.id, name: snap.name.slice(0, 64), description: snap.description, hvName: snap.name, status,
      includeMemory: snap.withMemory, origin: 'adopted', scheduleId: null, createdBy: null,
    });
    await repos.snapshots.update(id, {
      diskBytes: snap.diskBytes, memoryBytes: snap.memoryBytes,
      ...(snap.incomplete ? { errorCode: 'snapshot_incomplete', errorMessage: `snapstate ${snap.incomplete} on the hypervisor` } : {}),
    });
    if (snap.incomplete) summary.incomplete += 1;
    else summary.unmanaged += 1;
    await repos.audit.record({
      actor: ACTOR, serviceId: service.id, snapshotId: id, snapshotName: snap.name, action: snap.incomplete ? 'reconcile.incomplete' : 'reconcile.unmanaged',
      result: 'ok', toStatus: status, ...(snap.incomplete ? { code: 'snapshot_incomplete' } : {}),
    });
  }
  return summary;
}

/**
 * Every usable record of a service missing at once (two or more, none left) is what a target pointing
 * at the wrong guest, a recreated guest or a restored config looks like, far more often than a
 * customer's snapshots all deleted by hand. Judging them all vanished would put every snapshot in
 * error; reconcile leaves them and audits the refusal for an admin instead. One record gone, or some
 * of several, is still judged.
 */
function implausible(rows: Snapshot[], onHypervisor: Map<string, unknown>): boolean {
  const usable = rows.filter((r) => r.status === 'active' || r.status === 'restoring');
  return usable.length >= 2 && usable.every((r) => !onHypervisor.has(r.hvName));
}

/**
 * Operations still `running` long after any driver task could have ended belong to a worker that hangs
 * without dying (its lease keeps being renewed): fail them so the service is not blocked for ever.
 */
export async function failStuckOperations(deps: DomainDeps, olderThanMs: number, cloneOlderThanMs = olderThanMs): Promise<number> {
  const { repos } = deps;
  const cutoff = Date.now() - olderThanMs;
  const cloneCutoff = Date.now() - cloneOlderThanMs;
  let n = 0;
  for (const op of await repos.operations.list({ status: 'running', limit: 500 })) {
    if (!op.startedAt || op.startedAt.getTime() > (op.kind === 'clone' ? cloneCutoff : cutoff)) continue;
    // Only the hung claim as read: a worker that took the operation over meanwhile keeps it.
    if (!(await repos.operations.finish(op.id, op.lockedBy, 'failed', { code: 'operation_stuck', message: `running since ${op.startedAt.toISOString()}` }))) continue;
    const s = op.snapshotId === null ? null : await repos.snapshots.get(op.snapshotId);
    if (s && ['creating', 'restoring', 'deleting'].includes(s.status)) {
      await repos.snapshots.transition(s.id, s.status, { status: 'error', errorCode: 'operation_stuck', errorMessage: 'the operation did not finish' });
    }
    if (op.kind === 'clone') {
      const ended = await endClone(deps, op.id, 'operation_stuck');
      if (ended) await reportEnded(deps, [ended]);
    }
    await repos.audit.record({ actor: ACTOR, serviceId: op.serviceId, snapshotId: op.snapshotId, action: 'reconcile.stuck', result: 'ok', code: 'operation_stuck', details: { operationId: op.id } });
    n += 1;
  }
  return n;
}
