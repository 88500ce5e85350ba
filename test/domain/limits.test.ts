import { describe, it, expect } from 'vitest';
import { resolveLimits, quotaView, type PlanLimits, type LimitOverrides } from '../../module/domain/limits.js';

/** Config fallback: the last resort when no layer defines a field. */
const CONFIG: PlanLimits = {
  maxSnapshots: 3,
  maxSchedules: 1,
  maxKeep: 5,
  memoryAllowed: false,
  schedulesAllowed: true, cloneAllowed: true,
};

/** A database row may carry NULL for "not set here"; the type does not model it, so cast. */
const withNulls = (o: Record<string, unknown>) => o as unknown as LimitOverrides;

describe('resolveLimits', () => {
  it('returns the base when there are no layers', () => {
    expect(resolveLimits(CONFIG)).toEqual(CONFIG);
  });

  it('returns the base when every layer is null or undefined', () => {
    expect(resolveLimits(CONFIG, null, undefined, null)).toEqual(CONFIG);
  });

  it('takes each field from the first layer that defines it (override → plan → default → base)', () => {
    const override: LimitOverrides = { maxSnapshots: 20 };
    const plan: LimitOverrides = { maxSnapshots: 10, maxKeep: 8 };
    const dflt: LimitOverrides = { maxSnapshots: 4, maxKeep: 6, maxSchedules: 2 };
    expect(resolveLimits(CONFIG, override, plan, dflt)).toEqual({
      maxSnapshots: 20, // override
      maxKeep: 8, // plan
      maxSchedules: 2, // default
      memoryAllowed: false, // base
      schedulesAllowed: true, // base
      cloneAllowed: true, // base
    });
  });

  it('lets null and undefined fields fall through to the next layer', () => {
    const override = withNulls({ maxSnapshots: null, maxKeep: undefined, memoryAllowed: null });
    const plan = withNulls({ maxSnapshots: 12, maxKeep: null, memoryAllowed: true });
    const dflt = withNulls({ maxKeep: 9 });
    expect(resolveLimits(CONFIG, override, plan, dflt)).toEqual({
      ...CONFIG,
      maxSnapshots: 12,
      maxKeep: 9,
      memoryAllowed: true,
    });
  });

  it('skips a missing layer in the middle', () => {
    expect(resolveLimits(CONFIG, { maxKeep: 2 }, null, { maxKeep: 9, maxSnapshots: 7 })).toEqual({
      ...CONFIG,
      maxKeep: 2,
      maxSnapshots: 7,
    });
  });

  it('treats false and 0 as defined values that win over later layers', () => {
    const override: LimitOverrides = { schedulesAllowed: false, maxSnapshots: 0 };
    const plan: LimitOverrides = { schedulesAllowed: true, maxSnapshots: 10, memoryAllowed: true };
    const base: PlanLimits = { ...CONFIG, memoryAllowed: true };
    const dflt: LimitOverrides = { memoryAllowed: false };
    const r = resolveLimits(base, override, plan, dflt);
    expect(r.schedulesAllowed).toBe(false);
    expect(r.maxSnapshots).toBe(0);
    // plan (true) wins over default (false)
    expect(r.memoryAllowed).toBe(true);
  });

  it('a false in the default layer overrides a true base', () => {
    const base: PlanLimits = { ...CONFIG, memoryAllowed: true };
    expect(resolveLimits(base, null, {}, { memoryAllowed: false }).memoryAllowed).toBe(false);
  });

  it('ignores keys that are not limits (e.g. other columns of a plan row)', () => {
    const planRow = { maxKeep: 4, id: 99, planName: 'Gold' } as unknown as LimitOverrides;
    const r = resolveLimits(CONFIG, planRow);
    expect(r).toEqual({ ...CONFIG, maxKeep: 4 });
    expect(Object.keys(r).sort()).toEqual(Object.keys(CONFIG).sort());
  });

  it('does not mutate the base or the layers', () => {
    const base: PlanLimits = { ...CONFIG };
    const override: LimitOverrides = { maxSnapshots: 50 };
    const result = resolveLimits(base, override);
    expect(result.maxSnapshots).toBe(50);
    expect(base).toEqual(CONFIG);
    expect(override).toEqual({ maxSnapshots: 50 });
    expect(result).not.toBe(base);
  });
});

describe('quotaView', () => {
  it('over the limit after a downgrade: limit 3, used 5 → left 0, over 2', () => {
    expect(quotaView(3, 5)).toEqual({ limit: 3, used: 5, left: 0, over: 2 });
  });

  it('under the limit: limit 5, used 2 → left 3, over 0', () => {
    expect(quotaView(5, 2)).toEqual({ limit: 5, used: 2, left: 3, over: 0 });
  });

  it('exactly at the limit: nothing left, not over', () => {
    expect(quotaView(4, 4)).toEqual({ limit: 4, used: 4, left: 0, over: 0 });
  });

  it('empty service: all left', () => {
    expect(quotaView(5, 0)).toEqual({ limit: 5, used: 0, left: 5, over: 0 });
  });

  it('a zero limit with snapshots reports all of them as over', () => {
    expect(quotaView(0, 2)).toEqual({ limit: 0, used: 2, left: 0, over: 2 });
  });
});
