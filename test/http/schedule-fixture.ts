import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LimitsRepo } from '../../module/db/limits-repo.js';
import { LOCALES_DIR } from '../../module/i18n/i18n.js';
import { SCHEDULE_JOB } from '../../module/scheduler/agenda-scheduler.js';
import { beforeEach } from 'vitest';
import type { TestDatabase } from '../helpers/databases.js';
import { useModule } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';

/**
 * Per test (useModule): a module with the scheduler running (so next runs come from the real job
 * store; nothing is due in a test) over: svc-1 alice's (plan basic: 2 schedules, keep ≤ 5), svc-2
 * bob's (Korean, same plan), svc-3 bob's resold by rex, svc-4 alice's on a plan without schedules.
 */
export function useScheduleFixture(kind: TestDatabase) {
  const fx = useModule(kind, {
    services: [
      makeService(),
      makeService({ id: 'svc-2', name: 'other', ownerId: 'bob' }),
      makeService({ id: 'svc-3', name: 'resold', ownerId: 'bob', resellerId: 'rex' }),
      makeService({ id: 'svc-4', name: 'tiny', planId: 'tiny' }),
    ],
    config: { scheduler: { enabled: true, processEveryMs: 60_000, reconcileEveryMs: 0 } },
  });
  beforeEach(async () => {
    const limits = new LimitsRepo(fx.db);
    await limits.set('basic', { maxSnapshots: 5, maxSchedules: 2, maxKeep: 5, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true });
    await limits.set('tiny', { maxSnapshots: 1, maxSchedules: 0, maxKeep: 1, memoryAllowed: false, schedulesAllowed: false, cloneAllowed: true });
    await fx.mod.start();
  });
  const jobs = () => fx.db('snapshot_jobs').where({ name: SCHEDULE_JOB });
  const schedules = () => fx.db('snapshot_schedules').orderBy('id');
  /** The next run the job store holds for a schedule. */
  const nextRunOf = async (scheduleId: number): Promise<Date | null> => {
    const rows = await jobs();
    const row = rows.find((r) => JSON.parse(String(r.data)).scheduleId === scheduleId);
    return row?.next_run_at ? new Date(row.next_run_at) : null;
  };
  return { fx, jobs, schedules, nextRunOf };
}

/** A message as the locale files have it, placeholders filled: tests compare with the real translation. */
export function message(lng: string, ns: string, key: string, params: Record<string, string | number> = {}): string {
  let node: unknown = JSON.parse(readFileSync(join(LOCALES_DIR, lng, `${ns}.json`), 'utf8'));
  for (const part of key.split('.')) node = (node as Record<string, unknown>)[part];
  return String(node).replace(/\{\{(\w+)\}\}/g, (_, k: string) => String(params[k]));
}

/**
 * What the pages show for a time: the same Intl formatting, in the viewer's language and timezone
 * (Korean on a 24-hour clock, as the pages write it: ICU's Korean 12-hour clock says "PM").
 */
export const shownAs = (d: Date, lng: string, timeZone: string) =>
  new Intl.DateTimeFormat(lng, { dateStyle: 'medium', timeStyle: 'short', timeZone, ...(lng === 'ko' ? { hourCycle: 'h23' as const } : {}) }).format(d);

/** HTML-escaped as EJS writes it. */
export const escaped = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');
