import type { LimitOverrides, PlanLimits } from './limits.js';

export const LIMIT_FIELDS = ['maxSnapshots', 'maxSchedules', 'maxKeep', 'memoryAllowed', 'schedulesAllowed', 'cloneAllowed'] as const satisfies readonly (keyof PlanLimits)[];

/** Where an effective limit comes from, most specific first. */
export type LimitSource = 'override' | 'plan' | 'default' | 'config';

export type ExplainedLimits = { [K in keyof PlanLimits]: { value: PlanLimits[K]; source: LimitSource } };

/**
 * The same resolution as LimitsService (override → plan row → '*' row → config default), field by
 * field, telling the admin page which layer each value came from.
 */
export function explainLimits(layers: {
  config: PlanLimits; defaultRow: PlanLimits | null; planRow: PlanLimits | null; overrides?: LimitOverrides | null;
}): ExplainedLimits {
  const ordered: [LimitSource, LimitOverrides | null | undefined][] = [
    ['override', layers.overrides], ['plan', layers.planRow], ['default', layers.defaultRow], ['config', layers.config],
  ];
  const out: Record<string, { value: unknown; source: LimitSource }> = {};
  for (const field of LIMIT_FIELDS) {
    for (const [source, layer] of ordered) {
      const value = layer?.[field];
      if (value === undefined || value === null) continue;
      out[field] = { value, source };
      break;
    }
  }
  return out as ExplainedLimits;
}

/** Allowed range of each numeric limit (the same bounds as the config's default limits). */
export const LIMIT_BOUNDS = {
  maxSnapshots: { min: 0, max: 1000 },
  maxSchedules: { min: 0, max: 100 },
  maxKeep: { min: 1, max: 1000 },
} as const;
