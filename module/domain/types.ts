import type { HypervisorTarget } from '../drivers/contract.js';
import type { SnapshotStatus } from './status.js';

export type ActorRole = 'customer' | 'reseller' | 'admin';

/** The person acting in a request, as the panel adapter reports them. */
export interface Actor {
  id: string;
  role: ActorRole;
  name?: string;
  /** BCP 47 language ('en', 'ko', 'ja'); the module falls back to ?lng, cookie, Accept-Language. */
  locale?: string;
  /** IANA timezone for showing times and reading schedule hours. */
  timezone?: string;
}

/** Who caused an action, for the audit log: a person, or the module acting on its own. */
export type AuditActor =
  | { type: ActorRole; id: string }
  | { type: 'schedule' | 'billing' | 'system' | 'reconcile'; id?: string | null };

export type ServiceStatus = 'active' | 'suspended' | 'terminated';

/** A VPS service, as the panel adapter reports it. */
export interface PanelService {
  id: string;
  /** What the customer calls the server; typed to confirm a restore. */
  name: string;
  hostname?: string;
  ownerId: string;
  resellerId?: string | null;
  planId: string;
  diskBytes: number;
  status: ServiceStatus;
  target: HypervisorTarget;
}

export type SnapshotOrigin = 'manual' | 'schedule' | 'safety' | 'adopted';

export interface Snapshot {
  id: number;
  serviceId: string;
  name: string;
  description: string | null;
  hvName: string;
  status: SnapshotStatus;
  pinned: boolean;
  includeMemory: boolean;
  origin: SnapshotOrigin;
  scheduleId: number | null;
  diskBytes: number | null;
  memoryBytes: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  createdBy: string | null;
  createdAt: Date;
  completedAt: Date | null;
  updatedAt: Date;
}

export type OperationKind = 'create' | 'delete' | 'restore' | 'clone';
export type OperationStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface Operation {
  id: number;
  serviceId: string;
  snapshotId: number | null;
  kind: OperationKind;
  status: OperationStatus;
  attempts: number;
  target: HypervisorTarget;
  driverTask: string | null;
  payload: Record<string, unknown>;
  errorCode: string | null;
  errorMessage: string | null;
  origin: AuditActor['type'];
  requestedBy: string | null;
  lockedBy: string | null;
  lockedUntil: Date | null;
  runAfter: Date;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface Schedule {
  id: number;
  serviceId: string;
  name: string;
  enabled: boolean;
  disabledReason: string | null;
  days: number[];
  hour: number;
  minute: number;
  timezone: string;
  keep: number;
  includeMemory: boolean;
  lastRunAt: Date | null;
  lastResult: string | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface AuditEvent {
  id: number;
  occurredAt: Date;
  actorType: AuditActor['type'];
  actorId: string | null;
  serviceId: string | null;
  snapshotId: number | null;
  snapshotName: string | null;
  action: string;
  result: 'ok' | 'refused' | 'failed';
  fromStatus: string | null;
  toStatus: string | null;
  code: string | null;
  details: Record<string, unknown> | null;
  ip: string | null;
}
