import type { JobTable } from './job-table.js';

/** Every column the repository reads or writes (migrations/20261122010000_snapshot_jobs.ts). */
const JOB_COLUMNS = [
  'id', 'name', 'priority', 'claim_rank', 'next_run_at', 'type', 'locked_at', 'last_run_at', 'last_finished_at', 'failed_at',
  'fail_count', 'fail_reason', 'repeat_interval', 'repeat_timezone', 'repeat_at', 'data', 'disabled', 'progress',
  'unique_key', 'debounce_started_at', 'last_modified_by', 'start_date', 'end_date', 'skip_days', 'fork',
];

/**
 * Fails with an actionable message when the jobs table is missing or has another shape (a custom
 * tableName the host created by hand), instead of the first claim failing with a bare SQL error.
 */
export async function verifyJobTable(t: JobTable): Promise<void> {
  const info = await t.db(t.table).columnInfo();
  const run = "run the snapshot module's migrations (migrations/index.ts migrationConfig) before starting Agenda";
  if (Object.keys(info).length === 0) {
    throw new Error(`knex job backend: table "${t.table}" does not exist; ${run}`);
  }
  const missing = JOB_COLUMNS.filter((c) => !(c in info));
  if (missing.length > 0) {
    throw new Error(`knex job backend: table "${t.table}" lacks column(s) ${missing.join(', ')}; ${run}`);
  }
}
