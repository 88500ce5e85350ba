import { DriverError, type HypervisorTarget, type SnapshotDriver } from '../drivers/contract.js';
import type { DomainDeps } from '../domain/deps.js';
import { cloneReport } from '../domain/clone/clone-report.js';
import type { CloneRecord } from '../db/clones-repo.js';
import type { AuditActor, Operation, Snapshot } from '../domain/types.js';

/**
 * The clone half of executeOperation: a new server's disks made from a snapshot of the service the
 * operation belongs to. The operation runs in the source service's queue (the source guest is what
 * the hypervisor reads and locks), so it is serialized with that guest's other work and counted on its
 * node; the clone record tells the new service's page and the panel how it is going.
 */

/** Where the new guest goes, as stored with the operation. */
export function cloneDest(op: Operation): HypervisorTarget {
  const dest = op.payload.dest as HypervisorTarget | undefined;
  if (!dest || typeof dest.vmId !== 'string') throw new DriverError('rejected', `clone operation ${op.id} has no destination`);
  return dest;
}

function cloning(driver: SnapshotDriver): Required<Pick<SnapshotDriver, 'clone' | 'cloneState' | 'discardClone'>> {
  if (!driver.clone || !driver.cloneState || !driver.discardClone) throw new DriverError('rejected', `driver '${driver.name}' cannot clone`);
  return driver as Required<Pick<SnapshotDriver, 'clone' | 'cloneState' | 'discardClone'>>;
}

/** After a crash or an admin's retry: did an earlier attempt already finish the new guest? */
export async function cloneAlreadyDone(driver: SnapshotDriver, op: Operation): Promise<boolean> {
  return (await cloning(driver).cloneState(cloneDest(op))) === 'complete';
}

/**
 * Starts the clone. On the first attempt the destination must be empty: a guest already there is
 * someone else's, never overwritten or removed. On a later attempt, what an earlier attempt of ours
 * left half-made is removed first.
 */
export async function startClone(driver: SnapshotDriver, op: Operation, s: Snapshot): Promise<string> {
  const d = cloning(driver);
  const dest = cloneDest(op);
  const state = await d.cloneState(dest);
  if (state !== 'absent') {
    if (op.attempts <= 1 || state === 'complete') throw new DriverError('already_exists', `a guest already exists at ${dest.node}/${dest.vmId}`);
    await d.discardClone(dest);
  }
  return d.clone(op.target, s.hvName, dest);
}

/** The clone record's move to running, told to the panel once. */
export async function cloneStarted(deps: DomainDeps, op: Operation): Promise<void> {
  const clone = await deps.repos.clones.byOperation(op.id);
  if (clone && (await deps.repos.clones.setStatus(clone.id, 'running', null))) await report(deps, { ...clone, status: 'running' });
}

/**
 * The clone's outcome, the operation's end and their audit events commit together; the new service is
 * open for use from then on. `finish` returns false when the lease went to another worker: the
 * transaction rolls back and the caller gives up. A failed clone first removes what it left behind.
 */
export async function cloneSettled(deps: DomainDeps, driver: SnapshotDriver | null, op: Operation, s: Snapshot | null,
  finish: (trx: Parameters<Parameters<DomainDeps['transaction']>[0]>[0]) => Promise<boolean>, error: DriverError | { code: string; detail: string } | null): Promise<boolean> {
  const { repos } = deps;
  const clone = await repos.clones.byOperation(op.id);
  if (error && driver && error.code !== 'already_exists') await discardLeftovers(driver, op);
  const code = error ? (error instanceof DriverError ? `driver_${error.code}` : error.code) : null;
  const actor = { type: op.origin, id: op.requestedBy } as AuditActor;
  const ok = await deps.transaction(async (trx) => {
    if (!(await finish(trx))) return false;
    if (!clone) return true;
    await repos.clones.setStatus(clone.id, error ? 'failed' : 'succeeded', error ? { code: code!, message: error.detail } : null, trx);
    await repos.services.update(clone.newServiceId, { clonePending: false }, trx);
    const details = { operationId: op.id, newServiceId: clone.newServiceId, sourceServiceId: clone.sourceServiceId, ...(error ? { detail: error.detail } : {}) };
    await repos.audit.record([
      { actor, serviceId: op.serviceId, snapshotId: s?.id ?? clone.snapshotId, snapshotName: s?.name ?? clone.snapshotName, action: 'operation.clone', result: error ? 'failed' : 'ok', code, details },
      { actor, serviceId: clone.newServiceId, snapshotId: null, snapshotName: clone.snapshotName, action: 'server.clone', result: error ? 'failed' : 'ok', code, details },
    ], trx);
    return true;
  });
  if (!ok || !clone) return ok;
  const done: CloneRecord = { ...clone, status: error ? 'failed' : 'succeeded', errorCode: code, finishedAt: new Date() };
  await report(deps, done);
  await deps.notifier.notify({
    type: error ? 'server_clone_failed' : 'server_clone_succeeded', serviceId: clone.newServiceId,
    params: { name: clone.snapshotName, code: code ?? '' }, cause: actor,
  });
  return true;
}

/** Best effort: a failure to clean up is for an admin to see in the log, not a second failure. */
async function discardLeftovers(driver: SnapshotDriver, op: Operation): Promise<void> {
  try {
    const d = cloning(driver);
    const dest = cloneDest(op);
    if ((await d.cloneState(dest)) === 'partial') await d.discardClone(dest);
  } catch {
    // Left for reconcile and the admin: the operation's failure is recorded either way.
  }
}

async function report(deps: DomainDeps, clone: CloneRecord): Promise<void> {
  try {
    await deps.onCloneProgress?.(cloneReport(clone));
  } catch {
    // The panel's listener failing changes nothing here; it can ask for the status again.
  }
}
