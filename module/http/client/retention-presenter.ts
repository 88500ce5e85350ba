import type { TFunction } from 'i18next';
import type { PreviewRotated, RetentionPreview } from '../../domain/retention-preview.js';
import { clockOf } from '../common/formatters.js';
import { dateTimeFormat, listFormat } from '../common/intl-cache.js';

export interface PreviewRunView {
  iso: string;
  when: string;
  skipped: boolean;
  text: string;
}

/** The form's preview: one line per run, and what is never deleted. */
export interface RetentionPreviewView {
  runs: PreviewRunView[];
  untouched: string;
  /** Why there are no runs to show (the schedule is off), else null. */
  none: string | null;
}

/** "Sun, Nov 29, 3:30 AM" in the viewer's language and zone: the weekday is how a weekly schedule is set, the date tells runs weeks apart. */
function runTime(lng: string, timeZone: string, at: Date): string {
  return dateTimeFormat(lng, { weekday: 'short', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZone, ...clockOf(lng) }).format(at);
}

function rotatedNames(t: TFunction, lng: string, timeZone: string, rotates: PreviewRotated[]): string {
  const names = rotates.map((r) => (r.kind === 'existing'
    ? t('schedules:preview.quoted', { name: r.name })
    : t('schedules:preview.planned', { when: runTime(lng, timeZone, r.at) })));
  return listFormat(lng, 'conjunction').format(names);
}

export function presentRetentionPreview(t: TFunction, lng: string, timeZone: string, p: RetentionPreview, enabled: boolean): RetentionPreviewView {
  const runs = p.runs.map((run) => {
    const when = runTime(lng, timeZone, run.at);
    const text = run.skipped ? t('schedules:preview.run_skipped', { when })
      : run.rotates.length ? t('schedules:preview.run_rotates', { when, names: rotatedNames(t, lng, timeZone, run.rotates) })
        : t('schedules:preview.run_keeps', { when });
    return { iso: run.at.toISOString(), when, skipped: run.skipped, text };
  });
  return {
    runs,
    untouched: t('schedules:preview.untouched', { pinned: p.untouched.pinned, manual: p.untouched.manual }),
    none: enabled ? null : t('schedules:preview.disabled'),
  };
}

/** The schedules list's one line about a schedule's next run. */
export function presentPreviewLine(t: TFunction, lng: string, timeZone: string, p: RetentionPreview): string | null {
  const next = p.runs[0];
  if (!next) return null;
  if (next.skipped) return t('schedules:preview.line_skips');
  if (next.rotates.length) {
    return t('schedules:preview.line_rotates', { when: runTime(lng, timeZone, next.at), names: rotatedNames(t, lng, timeZone, next.rotates) });
  }
  return t('schedules:preview.line_keeps', { kept: p.kept, keep: p.keep });
}
