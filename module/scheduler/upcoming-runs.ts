import { CronExpressionParser } from 'cron-parser';
import { scheduleCron, type ScheduleInput } from '../domain/schedules.js';

/**
 * The next `count` occurrences of a schedule after `from`, read from the same cron expression and
 * timezone its job repeats on, so a schedule not saved yet is previewed as it would run.
 */
export function upcomingRuns(s: Pick<ScheduleInput, 'days' | 'hour' | 'minute' | 'timezone'>, count: number, from: Date): Date[] {
  const it = CronExpressionParser.parse(scheduleCron(s), { tz: s.timezone, currentDate: from });
  return Array.from({ length: count }, () => it.next().toDate());
}
