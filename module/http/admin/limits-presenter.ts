import type { TFunction } from 'i18next';
import type { PlanLimitsEntry } from '../../domain/admin-limits.js';
import { LIMIT_BOUNDS, LIMIT_FIELDS, type ExplainedLimits } from '../../domain/limit-sources.js';
import type { LimitOverrides, PlanLimits } from '../../domain/limits.js';
import { ADMIN_BASE } from './admin-kit.js';

/** One limit as a table cell: numbers as they are, booleans as yes/no. */
function cell(t: TFunction, v: number | boolean): string {
  return typeof v === 'boolean' ? t(v ? 'common:yes' : 'common:no') : String(v);
}

export const limitsPath = (planId: string) => `${ADMIN_BASE}/limits/${encodeURIComponent(planId)}`;

export function presentLimitsTable(t: TFunction, input: {
  defaultRow: PlanLimits | null; defaultEffective: PlanLimits; plans: PlanLimitsEntry[]; names: Map<string, string>; listed: Set<string>;
}) {
  const values = (l: PlanLimits) => LIMIT_FIELDS.map((f) => cell(t, l[f]));
  return {
    fields: LIMIT_FIELDS.map((f) => t(`admin:limits.field.${f}`)),
    defaultRow: {
      href: limitsPath('*'), values: values(input.defaultEffective),
      source: t(input.defaultRow ? 'admin:limits.source_default_row' : 'admin:limits.source_config'),
    },
    plans: input.plans.map((p) => ({
      planId: p.planId, name: input.names.get(p.planId) ?? p.planId, href: limitsPath(p.planId), values: values(p.effective),
      source: t(p.own ? 'admin:limits.source_own' : 'admin:limits.source_inherits'),
      unlisted: !input.listed.has(p.planId),
    })),
  };
}

/** The edit form of a plan's (or the default's) limits: current values, or what the admin typed. */
export function presentLimitsForm(t: TFunction, input: {
  planId: string; name: string; own: PlanLimits | null; effective: PlanLimits; form?: Record<string, unknown>;
}) {
  const isDefault = input.planId === '*';
  const source = input.form ?? input.effective;
  return {
    planId: input.planId,
    isDefault,
    heading: isDefault ? t('admin:limits.default_heading') : t('admin:limits.plan_heading', { name: input.name }),
    action: limitsPath(input.planId),
    inheritAction: `${limitsPath(input.planId)}/inherit`,
    hasOwn: !!input.own,
    inheritLabel: t(isDefault ? 'admin:limits.reset_default' : 'admin:limits.inherit'),
    numbers: (['maxSnapshots', 'maxSchedules', 'maxKeep'] as const).map((f) => ({
      name: f, label: t(`admin:limits.field.${f}`), value: String(source[f as keyof typeof source] ?? ''),
      hint: t('admin:limits.range_hint', LIMIT_BOUNDS[f]), ...LIMIT_BOUNDS[f],
    })),
    flags: (['memoryAllowed', 'schedulesAllowed', 'cloneAllowed'] as const).map((f) => {
      const v = source[f as keyof typeof source];
      return { name: f, label: t(`admin:limits.field.${f}`), checked: v === true || v === 'on' || v === '1' };
    }),
  };
}

/** A service's effective limits with where each comes from, and the override form. */
export function presentServiceLimits(t: TFunction, input: {
  explained: ExplainedLimits; overrides: LimitOverrides; form?: Record<string, unknown>;
}) {
  const typed = input.form;
  return {
    effective: LIMIT_FIELDS.map((f) => ({
      label: t(`admin:limits.field.${f}`), value: cell(t, input.explained[f].value), source: t(`admin:services.source.${input.explained[f].source}`),
    })),
    numbers: (['maxSnapshots', 'maxSchedules', 'maxKeep'] as const).map((f) => ({
      name: f, label: t(`admin:limits.field.${f}`), hint: t('admin:services.number_hint', LIMIT_BOUNDS[f]), ...LIMIT_BOUNDS[f],
      value: typed ? String(typed[f] ?? '') : input.overrides[f] === undefined ? '' : String(input.overrides[f]),
    })),
    flags: (['memoryAllowed', 'schedulesAllowed', 'cloneAllowed'] as const).map((f) => {
      const current = typed ? String(typed[f] ?? '') : input.overrides[f] === undefined ? '' : input.overrides[f] ? 'yes' : 'no';
      return {
        name: f, label: t(`admin:limits.field.${f}`),
        options: [['', t('admin:services.inherit')], ['yes', t('common:yes')], ['no', t('common:no')]].map(([value, label]) => ({ value, label, selected: value === current })),
      };
    }),
    hasOverrides: Object.values(input.overrides).some((v) => v !== undefined),
  };
}
