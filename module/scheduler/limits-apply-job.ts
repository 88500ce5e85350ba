import { exponential, type Agenda, type Job } from 'agenda';
import type { ApplyLimits } from '../domain/admin-limits.js';
import type { ActionContext } from '../domain/deps.js';
import type { AuditActor } from '../domain/types.js';

export const LIMITS_APPLY_JOB = 'snapshot-limits-apply';

/** Up to this many services an admin's edit adjusts in the request; beyond it, in the background. */
export const APPLY_INLINE_MAX = 25;
/** Services per background job: each job is a short, retryable piece of the whole. */
export const APPLY_CHUNK = 200;

type ApplyJob = Job<{ serviceIds: string[]; actor: AuditActor }>;

/**
 * An admin's limit edit reaches every affected service's saved schedules. A handful are adjusted in
 * the request, so the admin sees the result at once; a plan with thousands would hold the request
 * for minutes, so those go to durable Agenda jobs in the module's job store, which any started
 * module process runs (scheduled runs re-check their limits meanwhile, so nothing runs beyond them).
 * `agenda` is null until the module has started: then everything is applied in the request.
 */
export function limitsApplier(applyNow: (serviceIds: string[], ctx: ActionContext) => Promise<void>, agenda: () => Agenda | null): ApplyLimits {
  return async (serviceIds, ctx) => {
    const queue = agenda();
    if (!queue || serviceIds.length <= APPLY_INLINE_MAX) {
      await applyNow(serviceIds, ctx);
      return 'applied';
    }
    for (let i = 0; i < serviceIds.length; i += APPLY_CHUNK) {
      await queue.now(LIMITS_APPLY_JOB, { serviceIds: serviceIds.slice(i, i + APPLY_CHUNK), actor: ctx.actor });
    }
    return 'queued';
  };
}

/**
 * Defines the background job on `agenda` (before it starts). A failed piece is retried with backoff
 * (applying a service again is harmless); a done one is removed, a given-up one stays to be seen.
 */
export function defineLimitsApplyJob(agenda: Agenda, applyNow: (serviceIds: string[], ctx: ActionContext) => Promise<void>): void {
  agenda.define(LIMITS_APPLY_JOB, async (job: ApplyJob) => {
    await applyNow(job.attrs.data.serviceIds, { actor: job.attrs.data.actor });
  }, { concurrency: 1, removeOnComplete: true, backoff: exponential({ delay: 5_000, factor: 2, maxRetries: 5 }) });
}
