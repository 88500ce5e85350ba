import type { Knex } from 'knex';
import type { HypervisorTarget } from '../drivers/contract.js';
import type { ActorRole } from '../domain/types.js';
import { parseJson, toDate, toDateOrNull, toNumberOrNull } from './values.js';

const H = 'snapshot_handovers';
const C = 'snapshot_clones';

/** A customer's pending order of a new server from a snapshot, as stored. */
export interface Handover {
  id: string;
  sourceServiceId: string;
  snapshotId: number;
  ownerId: string;
  resellerId: string | null;
  requestedBy: { type: ActorRole; id: string | null };
  minDiskBytes: number;
  expiresAt: Date;
  usedAt: Date | null;
  usedByServiceId: string | null;
  createdAt: Date;
}

export type CloneStatus = 'queued' | 'running' | 'succeeded' | 'failed';
/** Clone statuses that still read the source snapshot. */
export const PENDING_CLONE: readonly CloneStatus[] = ['queued', 'running'];

/** A new server being (or made) from a snapshot. */
export interface CloneRecord {
  id: number;
  handoverId: string;
  sourceServiceId: string;
  snapshotId: number;
  snapshotName: string;
  newServiceId: string;
  dest: HypervisorTarget;
  status: CloneStatus;
  operationId: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

function handoverFrom(r: Record<string, unknown>): Handover {
  return {
    id: String(r.id), sourceServiceId: String(r.source_service_id), snapshotId: Number(r.snapshot_id), ownerId: String(r.owner_id),
    resellerId: (r.reseller_id as string | null) ?? null,
    requestedBy: { type: r.requested_by_type as ActorRole, id: (r.requested_by as string | null) ?? null },
    minDiskBytes: Number(r.min_disk_bytes), expiresAt: toDate(r.expires_at), usedAt: toDateOrNull(r.used_at),
    usedByServiceId: (r.used_by_service_id as string | null) ?? null, createdAt: toDate(r.created_at),
  };
}

function cloneFrom(r: Record<string, unknown>): CloneRecord {
  return {
    id: Number(r.id), handoverId: String(r.handover_id), sourceServiceId: String(r.source_service_id), snapshotId: Number(r.snapshot_id),
    snapshotName: String(r.snapshot_name), newServiceId: String(r.new_service_id), dest: parseJson<HypervisorTarget>(r.dest_target, { driver: '', node: '', vmId: '' }),
    status: r.status as CloneStatus, operationId: toNumberOrNull(r.operation_id), errorCode: (r.error_code as string | null) ?? null,
    errorMessage: (r.error_message as string | null) ?? null, createdAt: toDate(r.created_at), finishedAt: toDateOrNull(r.finished_at),
  };
}

/** Handovers and clones: the two halves of a new server from a snapshot. */
export class ClonesRepo {
  constructor(private readonly db: Knex) {}

  async insertHandover(h: Omit<Handover, 'usedAt' | 'usedByServiceId' | 'createdAt'>, db: Knex = this.db): Promise<void> {
    await db(H).insert({
      id: h.id, source_service_id: h.sourceServiceId, snapshot_id: h.snapshotId, owner_id: h.ownerId, reseller_id: h.resellerId,
      requested_by_type: h.requestedBy.type, requested_by: h.requestedBy.id, min_disk_bytes: h.minDiskBytes,
      expires_at: h.expiresAt, created_at: new Date(),
    });
  }

  async getHandover(id: string, db: Knex = this.db): Promise<Handover | null> {
    const row = await db(H).where({ id }).first();
    return row ? handoverFrom(row) : null;
  }

  /** Uses the handover for `serviceId`: one caller wins, and only before it expires. */
  async useHandover(id: string, serviceId: string, now: Date, db: Knex): Promise<boolean> {
    const n = await db(H).where({ id }).whereNull('used_at').where('expires_at', '>', now)
      .update({ used_at: now, used_by_service_id: serviceId });
    return Number(n) === 1;
  }

  async insertClone(c: Omit<CloneRecord, 'id' | 'finishedAt' | 'errorCode' | 'errorMessage'>, db: Knex): Promise<number> {
    const [row] = await db(C).insert({
      handover_id: c.handoverId, source_service_id: c.sourceServiceId, snapshot_id: c.snapshotId, snapshot_name: c.snapshotName,
      new_service_id: c.newServiceId, dest_target: JSON.stringify(c.dest), status: c.status, operation_id: c.operationId, created_at: c.createdAt,
    });
    return typeof row === 'object' ? Number((row as { id: number }).id) : Number(row);
  }

  async forNewService(serviceId: string, db: Knex = this.db): Promise<CloneRecord | null> {
    const row = await db(C).where({ new_service_id: serviceId }).first();
    return row ? cloneFrom(row) : null;
  }

  async byOperation(operationId: number, db: Knex = this.db): Promise<CloneRecord | null> {
    const row = await db(C).where({ operation_id: operationId }).first();
    return row ? cloneFrom(row) : null;
  }

  /** Snapshots of a service that a clone still reads: kept from deletion and rotation until it ends. */
  async heldSnapshotIds(serviceId: string, db: Knex = this.db): Promise<Set<number>> {
    const rows = await db(C).where({ source_service_id: serviceId }).whereIn('status', [...PENDING_CLONE]).select('snapshot_id');
    return new Set(rows.map((r) => Number(r.snapshot_id)));
  }

  /** Moves a clone on; only from a status it can leave (a finished clone never changes again). */
  async setStatus(id: number, status: CloneStatus, error: { code: string; message: string } | null, db: Knex = this.db): Promise<boolean> {
    const from = status === 'running' ? ['queued'] : [...PENDING_CLONE];
    const done = status === 'succeeded' || status === 'failed';
    const n = await db(C).where({ id }).whereIn('status', from).update({
      status, error_code: error?.code ?? null, error_message: error?.message.slice(0, 1000) ?? null, ...(done ? { finished_at: new Date() } : {}),
    });
    return Number(n) === 1;
  }

  /**
   * Handovers a day past their expiry, used or not: the operations sweep removes them. A reference
   * that old is refused either way, and a provisioning it served lives on in its clone row.
   */
  async pruneHandovers(now: Date): Promise<number> {
    return Number(await this.db(H).where('expires_at', '<', new Date(now.getTime() - 24 * 3600_000)).delete());
  }
}

