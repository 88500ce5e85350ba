import type { Knex } from 'knex';
import { isMysql } from '../module/db/values.js';

/**
 * New servers made from a snapshot. A handover is the signed reference a customer carries through the
 * panel's order flow (single use: `used_at`); a clone is the hypervisor work once the panel has
 * provisioned the new service. `clone_pending` marks a new service whose disk is still being made, so
 * nothing else touches it meanwhile; `clone_allowed` turns the feature on or off per plan.
 */
// Same conventions as the initial migration: application-written millisecond timestamps, utf8mb4.
const ts = (t: Knex.CreateTableBuilder, name: string) => t.datetime(name, { precision: 3 });
const utf8mb4 = (knex: Knex, t: Knex.CreateTableBuilder) => {
  if (isMysql(knex)) {
    t.charset('utf8mb4');
    t.collate('utf8mb4_unicode_ci');
    t.engine('InnoDB');
  }
};

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('snapshot_handovers', (t) => {
    utf8mb4(knex, t);
    // The id is base64url: its case matters, so it is compared exactly.
    const id = t.string('id', 32).primary();
    if (isMysql(knex)) id.collate('utf8mb4_bin');
    t.string('source_service_id', 64).notNullable();
    t.bigInteger('snapshot_id').notNullable();
    t.string('owner_id', 64).notNullable();
    t.string('reseller_id', 64).nullable();
    t.string('requested_by_type', 16).notNullable();
    t.string('requested_by', 64).nullable();
    t.bigInteger('min_disk_bytes').notNullable();
    ts(t, 'expires_at').notNullable();
    ts(t, 'used_at').nullable();
    t.string('used_by_service_id', 64).nullable();
    ts(t, 'created_at').notNullable();
    t.index(['snapshot_id']);
    t.index(['expires_at']);
  });
  await knex.schema.createTable('snapshot_clones', (t) => {
    utf8mb4(knex, t);
    t.bigIncrements('id');
    const handover = t.string('handover_id', 32).notNullable().unique();
    if (isMysql(knex)) handover.collate('utf8mb4_bin');
    t.string('source_service_id', 64).notNullable();
    t.bigInteger('snapshot_id').notNullable();
    t.string('snapshot_name', 128).notNullable();
    t.string('new_service_id', 64).notNullable().unique();
    t.text('dest_target').notNullable();
    t.string('status', 16).notNullable(); // queued | running | succeeded | failed
    t.bigInteger('operation_id').nullable();
    t.index(['operation_id']);
    t.string('error_code', 64).nullable();
    t.string('error_message', 1000).nullable();
    ts(t, 'created_at').notNullable();
    ts(t, 'finished_at').nullable();
    t.index(['snapshot_id', 'status']);
    t.index(['source_service_id', 'status']);
  });
  await knex.schema.alterTable('snapshot_services', (t) => {
    t.boolean('clone_pending').notNullable().defaultTo(false);
    t.boolean('override_clone_allowed').nullable();
  });
  await knex.schema.alterTable('snapshot_plan_limits', (t) => {
    t.boolean('clone_allowed').notNullable().defaultTo(true);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('snapshot_plan_limits', (t) => {
    t.dropColumn('clone_allowed');
  });
  await knex.schema.alterTable('snapshot_services', (t) => {
    t.dropColumn('override_clone_allowed');
    t.dropColumn('clone_pending');
  });
  await knex.schema.dropTable('snapshot_clones');
  await knex.schema.dropTable('snapshot_handovers');
}
