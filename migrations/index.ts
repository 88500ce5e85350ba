import type { Knex } from 'knex';
import * as initial from './20261122000000_snapshot_initial.js';
import * as jobs from './20261122010000_snapshot_jobs.js';
import * as nodes from './20261122020000_snapshot_nodes.js';
import * as userLocales from './20261202000000_snapshot_user_locales.js';
import * as guestType from './20261207000000_snapshot_guest_type.js';
import * as hvNameExact from './20261207010000_snapshot_hv_name_exact.js';
import * as auditByAction from './20261207020000_snapshot_audit_by_action.js';
import * as clones from './20261208100000_snapshot_clones.js';
import * as scaleIndexes from './20261210000000_snapshot_scale_indexes.js';
import * as jobsRevision from './20261122060000_snapshot_jobs_revision.js';
import * as webhookEvents from './20261122030000_snapshot_webhook_events.js';
import * as serviceOwner from './20261122040000_snapshot_service_owner.js';
import * as auditByService from './20261122050000_snapshot_audit_by_service.js';

// Listed statically rather than read from disk, so migrations run the same under tsx, vitest and a
// compiled build, and never mix with the host panel's own migrations.
const MIGRATIONS: Record<string, Knex.Migration> = {
  '20261122000000_snapshot_initial': initial,
  '20261122010000_snapshot_jobs': jobs,
  '20261122020000_snapshot_nodes': nodes,
  '20261122060000_snapshot_jobs_revision': jobsRevision,
  '20261122030000_snapshot_webhook_events': webhookEvents,
  '20261122040000_snapshot_service_owner': serviceOwner,
  '20261122050000_snapshot_audit_by_service': auditByService,
  '20261202000000_snapshot_user_locales': userLocales,
  '20261207000000_snapshot_guest_type': guestType,
  '20261207010000_snapshot_hv_name_exact': hvNameExact,
  '20261207020000_snapshot_audit_by_action': auditByAction,
  '20261208100000_snapshot_clones': clones,
  '20261210000000_snapshot_scale_indexes': scaleIndexes,
};

/** knex migrator config for the module's tables: its own source and its own bookkeeping table. */
export const migrationConfig: Knex.MigratorConfig = {
  tableName: 'snapshot_knex_migrations',
  migrationSource: {
    getMigrations: async () => Object.keys(MIGRATIONS).sort(),
    getMigrationName: (name: string) => name,
    getMigration: async (name: string) => MIGRATIONS[name]!,
  },
};
