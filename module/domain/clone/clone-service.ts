import { DriverError, type DriverCapabilities } from '../../drivers/contract.js';
import type { ClonesRepo, Handover } from '../../db/clones-repo.js';
import { cloneBlockedReason, type CloneOffer } from '../allowed-actions.js';
import { authorize } from '../authorize.js';
import type { ActionContext, DomainDeps } from '../deps.js';
import { ConflictError, NotFoundError, SnapshotError } from '../errors.js';
import type { ServiceDirectory } from '../service-directory.js';
import { lockOpenService } from '../service-guard.js';
import { auditEvent, withRefusalAudit } from '../snapshot-records.js';
import type { Actor, PanelService, Snapshot } from '../types.js';
import { cloneReport, type CloneReport } from './clone-report.js';
import type { HandoverSigner } from './handover-token.js';
import type { ServerOrderHook } from './server-order.js';

export interface CloneServiceDeps {
  domain: DomainDeps;
  clones: ClonesRepo;
  directory: ServiceDirectory;
  signer: HandoverSigner;
  /** The panel's order hook; without it the feature is not offered. */
  order: ServerOrderHook | undefined;
  handoverTtlMs: number;
}

/**
 * New servers from snapshots. The module owns the snapshot and the hypervisor work, the panel owns
 * the order: `begin` checks what the module owns and hands over to the panel's order page with a
 * reference; `provision` takes the reference back with the service the panel made and queues the
 * clone on the source's queue, where executeOperation carries it out.
 */
export class CloneService {
  constructor(private readonly d: CloneServiceDeps) {}

  /** Whether the panel offers the feature at all (its order hook exists). */
  get offered(): boolean {
    return !!this.d.order;
  }

  /**
   * Whether a service can offer new servers from its snapshots (cloneBlockedReason's input), from its
   * driver's capabilities (which the pages and the API have already read), its limits and its state.
   */
  offer(caps: Pick<DriverCapabilities, 'clone'> | null, cloneAllowed: boolean, clonePending: boolean): CloneOffer {
    return { offered: !!this.d.order, cloneAllowed, clonePending, driverCanClone: !!caps?.clone };
  }

  /**
   * Starts an order: checks the snapshot may become a new server for this actor, stores a handover
   * and asks the panel where the customer continues. Refusals (the module's or the panel's) are
   * audited and thrown as typed errors; the panel's own reason travels in `clone_refused_by_panel`.
   */
  async begin(actor: Actor, service: PanelService, snapshotId: number, ctx: ActionContext, locale: string): Promise<{ continueUrl: string; expiresAt: Date }> {
    const { domain } = this.d;
    return withRefusalAudit(domain, ctx, service, 'snapshot.new_server', async () => {
      authorize(actor, 'create', service);
      const s = await domain.repos.snapshots.get(snapshotId);
      if (!s || s.serviceId !== service.id) throw new NotFoundError('snapshot');
      const limits = await domain.limits.forService(service.id, service.planId);
      const state = await domain.repos.services.get(service.id);
      const caps = await domain.driver(service.target.driver).capabilities(service.target).catch(() => null);
      const blocked = cloneBlockedReason(this.offer(caps, limits.cloneAllowed, state?.clonePending ?? false), s);
      if (blocked) throw blocked === 'clone_not_offered' ? new NotFoundError('snapshot') : new ConflictError(blocked, { status: s.status });
      await this.assertOnHypervisor(service, s);
      const { token, handover } = this.d.signer.issue(new Date(Date.now() + this.d.handoverTtlMs));
      await this.d.clones.insertHandover({
        id: handover.id, sourceServiceId: service.id, snapshotId: s.id, ownerId: service.ownerId, resellerId: service.resellerId ?? null,
        requestedBy: { type: actor.role, id: actor.id }, minDiskBytes: service.diskBytes, expiresAt: handover.expiresAt,
      });
      const answer = await this.d.order!({
        actor, source: service, snapshot: { id: s.id, name: s.name, createdAt: s.createdAt, diskBytes: s.diskBytes },
        minDiskBytes: service.diskBytes, reference: token, expiresAt: handover.expiresAt, locale,
      });
      if ('refused' in answer) throw new ConflictError('clone_refused_by_panel', { reason: String(answer.refused).slice(0, 500) });
      if (typeof answer.continueUrl !== 'string' || !/^(\/(?!\/)|https?:\/\/)/.test(answer.continueUrl)) {
        throw new TypeError('orderServerFromSnapshot must return { continueUrl } (a path or an http(s) URL) or { refused }');
      }
      await domain.repos.audit.record(auditEvent(ctx, service, 'snapshot.new_server', 'ok', s, { details: { handover: handover.id } }));
      return { continueUrl: answer.continueUrl, expiresAt: handover.expiresAt };
    }, snapshotId);
  }

  /** The source must still hold the snapshot, finished: a record alone is not enough to copy from. */
  private async assertOnHypervisor(service: PanelService, s: Snapshot): Promise<void> {
    let found;
    try {
      found = (await this.d.domain.driver(service.target.driver).list(service.target)).find((x) => x.name === s.hvName);
    } catch (err) {
      if (err instanceof DriverError && err.code === 'guest_missing') throw new ConflictError('clone_source_missing');
      throw err;
    }
    if (!found || found.incomplete) throw new ConflictError('clone_source_missing');
  }

  /**
   * The panel provisioned `newServiceId` for the order `reference` names: checks the reference
   * (signature, expiry, single use), that the new service may receive the snapshot (same owner and
   * reseller, same driver, a disk large enough, nothing on it yet) and queues the clone, all under the
   * source service's lock. The same reference for the same service again answers the clone's status.
   */
  async provision(newServiceId: string, reference: unknown, ctx: ActionContext): Promise<CloneReport> {
    const { domain } = this.d;
    const token = this.d.signer.verify(reference);
    if (!token) throw new SnapshotError('handover_invalid', 400);
    const h = await this.d.clones.getHandover(token.id);
    if (!h) throw new SnapshotError('handover_invalid', 400);
    const target = await this.d.directory.panelService(newServiceId);
    const source = await this.d.directory.panelService(h.sourceServiceId).catch(() => null);
    return withRefusalAudit(domain, ctx, target, 'server.provision_from_snapshot', async () => {
      const again = await this.answered(h, newServiceId);
      if (again) return again;
      // The stored expiry is the one that counts; the signed one can only be the same or a forgery.
      if (h.expiresAt <= new Date() || token.expiresAt <= new Date()) throw new SnapshotError('handover_expired', 410);
      if (!source || source.status === 'terminated') throw new ConflictError('clone_source_gone');
      this.assertReceiver(h, source, target);
      const caps = await domain.driver(source.target.driver).capabilities(source.target).catch(() => null);
      if (!caps?.clone) throw new ConflictError('clone_unsupported');
      const report = await domain.transaction(async (trx) => {
        await lockOpenService(domain, trx, source, ctx);
        const s = await domain.repos.snapshots.get(h.snapshotId, trx);
        if (!s || s.serviceId !== source.id || s.status !== 'active') throw new ConflictError('clone_source_gone');
        // Spent first: a delivery racing this one waits on the lock above and then finds it used.
        if (!(await this.d.clones.useHandover(h.id, target.id, new Date(), trx))) return null;
        await domain.repos.services.ensure(target.id, target.planId, trx);
        const existing = await domain.repos.snapshots.listForService(target.id, trx);
        if (existing.length || (await this.d.clones.forNewService(target.id, trx))) throw new ConflictError('clone_target_not_empty');
        await domain.repos.services.update(target.id, { clonePending: true }, trx);
        const opId = await domain.repos.operations.insert({
          serviceId: source.id, snapshotId: s.id, kind: 'clone', target: source.target,
          payload: { dest: target.target, newServiceId: target.id }, origin: ctx.actor.type, requestedBy: ctx.actor.id ?? null,
        }, trx);
        const clone = { handoverId: h.id, sourceServiceId: source.id, snapshotId: s.id, snapshotName: s.name, newServiceId: target.id, dest: target.target, status: 'queued' as const, operationId: opId, createdAt: new Date() };
        await this.d.clones.insertClone(clone, trx);
        const details = { newServiceId: target.id, sourceServiceId: source.id, operationId: opId, handover: h.id };
        await domain.repos.audit.record([
          auditEvent(ctx, source, 'snapshot.clone', 'ok', s, { details }),
          { ...auditEvent(ctx, target, 'server.provision_from_snapshot', 'ok', null, { details }), snapshotName: s.name },
        ], trx);
        return cloneReport({ ...clone, id: 0, errorCode: null, errorMessage: null, finishedAt: null });
      });
      if (!report) {
        // Used meanwhile: by this same provisioning delivered twice at once (answered with its clone),
        // by another service (refused), or it expired while waiting.
        const now = await this.d.clones.getHandover(h.id);
        const again = now && (await this.answered(now, newServiceId));
        if (again) return again;
        throw new SnapshotError('handover_expired', 410);
      }
      domain.wake(source.id);
      await domain.onCloneProgress?.(report).catch(() => undefined);
      return report;
    });
  }

  /** A repeat of a provisioning that already happened (a retried webhook) answers its status; any other use is refused. */
  private async answered(h: Handover, newServiceId: string): Promise<CloneReport | null> {
    if (!h.usedAt) return null;
    if (h.usedByServiceId !== newServiceId) throw new ConflictError('handover_used');
    return this.status(newServiceId);
  }

  /** The new service belongs to the order's customer, under the same reseller, on the same hypervisor, with room for the disk. */
  private assertReceiver(h: Handover, source: PanelService, target: PanelService): void {
    if (target.ownerId !== h.ownerId || (target.resellerId ?? null) !== h.resellerId) throw new SnapshotError('clone_wrong_owner', 403);
    if (target.id === source.id) throw new ConflictError('clone_target_not_empty');
    if (target.target.driver !== source.target.driver) throw new ConflictError('clone_other_driver');
    if (target.diskBytes < h.minDiskBytes) throw new ConflictError('clone_disk_too_small', { needed: gib(h.minDiskBytes), offered: gib(target.diskBytes) });
  }

  /** How the clone into `newServiceId` is going, or null when none was made into it. */
  async status(newServiceId: string): Promise<CloneReport | null> {
    const c = await this.d.clones.forNewService(newServiceId);
    return c ? cloneReport(c) : null;
  }
}

/** A disk size as the plans name it (whole GiB where it is one). */
function gib(bytes: number): string {
  const g = bytes / 2 ** 30;
  return `${Number.isInteger(g) ? g : g.toFixed(1)} GiB`;
}
