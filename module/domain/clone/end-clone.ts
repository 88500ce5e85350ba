import type { Knex } from 'knex';
import type { DomainDeps } from '../deps.js';
import { cloneReport } from './clone-report.js';

/**
 * Ends the clone of an operation that will not run (cancelled with its source's termination, or given
 * up as stuck): the clone failed with `code` and the new service is released. Inside `trx` when given;
 * the panel is told afterwards by the caller through reportEnded.
 */
export async function endClone(deps: DomainDeps, operationId: number, code: string, trx?: Knex.Transaction): Promise<string | null> {
  const run = async (db: Knex) => {
    const clone = await deps.repos.clones.byOperation(operationId, db);
    if (!clone || !(await deps.repos.clones.setStatus(clone.id, 'failed', { code, message: code }, db))) return null;
    await deps.repos.services.update(clone.newServiceId, { clonePending: false }, db);
    await deps.repos.audit.record({ actor: { type: 'system' }, serviceId: clone.newServiceId, snapshotId: null, snapshotName: clone.snapshotName,
      action: 'server.clone', result: 'failed', code, details: { operationId, sourceServiceId: clone.sourceServiceId } }, db);
    return clone.newServiceId;
  };
  return trx ? run(trx) : deps.transaction(run);
}

/** Tells the panel and the new server's owner that these clones ended without a server. */
export async function reportEnded(deps: DomainDeps, newServiceIds: readonly string[]): Promise<void> {
  for (const id of newServiceIds) {
    const c = await deps.repos.clones.forNewService(id);
    if (!c) continue;
    await deps.onCloneProgress?.(cloneReport(c)).catch(() => undefined);
    await deps.notifier.notify({ type: 'server_clone_failed', serviceId: id, params: { name: c.snapshotName, code: c.errorCode ?? '' } });
  }
}
