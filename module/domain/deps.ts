import type { Knex } from 'knex';
import type { AuditRepo } from '../db/audit-repo.js';
import type { ClonesRepo } from '../db/clones-repo.js';
import type { LimitsRepo } from '../db/limits-repo.js';
import type { OperationsRepo } from '../db/operations-repo.js';
import type { SchedulesRepo } from '../db/schedules-repo.js';
import type { ServicesRepo } from '../db/services-repo.js';
import type { SnapshotsRepo } from '../db/snapshots-repo.js';
import type { SnapshotDriver } from '../drivers/contract.js';
import type { LimitsService } from './limits-service.js';
import type { AuditActor, Snapshot } from './types.js';
import type { CloneReport } from './clone/clone-report.js';

export interface Repos {
  services: ServicesRepo;
  limits: LimitsRepo;
  snapshots: SnapshotsRepo;
  operations: OperationsRepo;
  schedules: SchedulesRepo;
  audit: AuditRepo;
  clones: ClonesRepo;
}

/** Events the customer is told about; each has an email template `views/emails/<type>.ejs`. */
export const NOTIFICATION_TYPES = [
  'snapshot_created', 'snapshot_failed', 'snapshot_restored', 'restore_failed', 'snapshot_deleted', 'delete_failed',
  'schedule_skipped', 'schedule_failed', 'limit_reached', 'plan_clamped', 'storage_expansion_refused',
  'server_clone_succeeded', 'server_clone_failed',
] as const;

/** An event for the customer, passed to the panel's `notify` with a localized subject and body. */
export interface NotificationEvent {
  type: (typeof NOTIFICATION_TYPES)[number];
  serviceId: string;
  params: Record<string, string | number>;
  /** Who brought it about (module/notifications/mail-policy.ts): the owner's own actions are not mailed back to them. */
  cause?: AuditActor;
}

export interface Notifier {
  notify(event: NotificationEvent): Promise<void>;
}

/** Who acts and from where, carried into the audit log. */
export interface ActionContext {
  actor: AuditActor;
  ip?: string | null;
}

/** Everything the domain needs, passed in once; no globals. */
export interface DomainDeps {
  repos: Repos;
  /** Runs `fn` in a database transaction, retrying deadlock victims. */
  transaction<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  limits: LimitsService;
  driver(name: string): SnapshotDriver;
  notifier: Notifier;
  /**
   * Tells the operation runner there is work for `serviceId` (anywhere, when omitted). `queuedBefore`:
   * the service had operations queued already, so its job claims the new one too and none is made;
   * the runner only counts it (a freed node slot goes to the service with the most work left).
   */
  wake(serviceId?: string, queuedBefore?: boolean): void;
  namePrefix: string;
  /**
   * Called when a create operation has ended (the snapshot active, or failed), so scheduled runs can
   * apply retention, and record a failure as their last result (a success is recorded with the
   * operation's outcome, see OutcomeBatcher). Errors are logged by the caller, never thrown on.
   */
  onCreateSettled?(snapshot: Snapshot, ok: boolean, code: string | null): Promise<void>;
  /** Tells the panel how a new server from a snapshot is getting on (queued, running, done, failed). */
  onCloneProgress?(report: CloneReport): Promise<void>;
}
