/** What a plan allows. Resolved per service: per-service override → plan row → default row → config. */
export interface PlanLimits {
  maxSnapshots: number;
  maxSchedules: number;
  maxKeep: number;
  memoryAllowed: boolean;
  schedulesAllowed: boolean;
  /** Customers may order a new server made from one of their snapshots. */
  cloneAllowed: boolean;
}

export type LimitOverrides = Partial<PlanLimits>;

/** Layers limit sources, the first defined value of each field winning. */
export function resolveLimits(base: PlanLimits, ...layers: (LimitOverrides | null | undefined)[]): PlanLimits {
  const out: PlanLimits = { ...base };
  // Apply from the least specific layer to the most specific one.
  for (const layer of [...layers].reverse()) {
    if (!layer) continue;
    for (const key of Object.keys(out) as (keyof PlanLimits)[]) {
      const v = layer[key];
      if (v !== undefined && v !== null) (out as unknown as Record<string, unknown>)[key] = v;
    }
  }
  return out;
}

export interface QuotaView {
  limit: number;
  used: number;
  /** Snapshots left, never negative. */
  left: number;
  /** How many the service holds beyond its limit (after a downgrade), else 0. */
  over: number;
}

/** "Snapshots left: N of M" and the over-limit figure after a downgrade. */
export function quotaView(limit: number, used: number): QuotaView {
  return { limit, used, left: Math.max(0, limit - used), over: Math.max(0, used - limit) };
}
