import type { CloneRecord, CloneStatus } from '../../db/clones-repo.js';

/**
 * How a new server from a snapshot is getting on, as the panel is told (`onCloneProgress`, the
 * provisioning hook's answer, `cloneStatus`) and the new service's page shows it.
 */
export interface CloneReport {
  /** The new service. */
  serviceId: string;
  sourceServiceId: string;
  snapshotName: string;
  status: CloneStatus;
  /** Stable code of a failure (`driver_<code>`, `clone_source_gone`), else null. */
  errorCode: string | null;
  requestedAt: Date;
  finishedAt: Date | null;
}

/** The report of a stored clone. */
export function cloneReport(c: CloneRecord): CloneReport {
  return {
    serviceId: c.newServiceId, sourceServiceId: c.sourceServiceId, snapshotName: c.snapshotName, status: c.status,
    errorCode: c.errorCode, requestedAt: c.createdAt, finishedAt: c.finishedAt,
  };
}
