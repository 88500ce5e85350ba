import type { Knex } from 'knex';

// Timestamps are millisecond-precise and always written by the application (never DB defaults), so
// MySQL's DATETIME(3) and SQLite's integer milliseconds read back the same.
const ts = (t: Knex.CreateTableBuilder, name: string) => t.datetime(name, { precision: 3 });
const utf8mb4 = (knex: Knex, t: Knex.CreateTableBuilder) => {
  if (knex.client.config.client === 'mysql2' || knex.client.config.client === 'mysql') {
    t.charset('utf8mb4');
    t.collate('utf8mb4_unicode_ci');
    t.engine('InnoDB');
  }
};

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('snapshot_plan_limits', (t) => {
    utf8mb4(knex, t);
    // '*' holds the admin-edited default for plans without a row of their own.
    t.string('plan_id', 64).primary();
    t.integer('max_snapshots').notNullable();
    t.integer('max_schedules').notNullable();
    t.integer('max_keep').notNullable();
    t.boolean('memory_allowed').notNullable();
    t.boolean('schedules_allowed').notNullable();
    ts(t, 'updated_at').notNullable();
  });

  await knex.schema.createTable('snapshot_services', (t) => {
    utf8mb4(knex, t);
    // The row every quota check locks: creates for one service are serialized on it.
    t.string('service_id', 64).primary();
    t.string('plan_id', 64).nullable();
    t.integer('override_max_snapshots').nullable();
    t.integer('override_max_schedules').nullable();
    t.integer('override_max_keep').nullable();
    t.boolean('override_memory_allowed').nullable();
    t.boolean('override_schedules_allowed').nullable();
    t.boolean('suspended').notNullable().defaultTo(false);
    t.boolean('terminated').notNullable().defaultTo(false);
    ts(t, 'created_at').notNullable();
    ts(t, 'updated_at').notNullable();
  });

  await knex.schema.createTable('snapshot_schedules', (t) => {
    utf8mb4(knex, t);
    t.bigIncrements('id');
    t.string('service_id', 64).notNullable().index();
    t.string('name', 128).notNullable();
    t.boolean('enabled').notNullable();
    t.string('disabled_reason', 32).nullable();
    t.string('days', 32).notNullable(); // comma-separated 0 (Sunday) … 6
    t.integer('hour').notNullable();
    t.integer('minute').notNullable();
    t.string('timezone', 64).notNullable();
    t.integer('keep').notNullable();
    t.boolean('include_memory').notNullable();
    ts(t, 'last_run_at').nullable();
    t.string('last_result', 32).nullable();
    t.string('last_error', 255).nullable();
    ts(t, 'created_at').notNullable();
    ts(t, 'updated_at').notNullable();
  });

  await knex.schema.createTable('snapshot_snapshots', (t) => {
    utf8mb4(knex, t);
    t.bigIncrements('id');
    t.string('service_id', 64).notNullable();
    t.string('name', 128).notNullable();
    t.string('description', 1024).nullable();
    t.string('hv_name', 40).notNullable();
    t.string('status', 16).notNullable();
    t.boolean('pinned').notNullable().defaultTo(false);
    t.boolean('include_memory').notNullable().defaultTo(false);
    t.string('origin', 16).notNullable(); // manual | schedule | safety | adopted
    t.bigInteger('schedule_id').nullable();
    t.bigInteger('disk_bytes').nullable();
    t.bigInteger('memory_bytes').nullable();
    t.string('error_code', 64).nullable();
    t.string('error_message', 1024).nullable();
    t.string('created_by', 64).nullable();
    ts(t, 'created_at').notNullable();
    ts(t, 'completed_at').nullable();
    ts(t, 'updated_at').notNullable();
    t.unique(['service_id', 'hv_name']);
    t.index(['service_id', 'status']);
    t.index(['schedule_id']);
  });

  await knex.schema.createTable('snapshot_operations', (t) => {
    utf8mb4(knex, t);
    t.bigIncrements('id');
    t.string('service_id', 64).notNullable();
    t.bigInteger('snapshot_id').nullable();
    t.string('kind', 16).notNullable(); // create | delete | restore
    t.string('status', 16).notNullable(); // queued | running | succeeded | failed
    t.integer('attempts').notNullable().defaultTo(0);
    t.string('driver', 32).notNullable();
    t.string('node', 128).notNullable();
    t.string('vm_id', 64).notNullable();
    t.string('driver_task', 255).nullable();
    t.text('payload').nullable(); // JSON
    t.string('error_code', 64).nullable();
    t.string('error_message', 1024).nullable();
    t.string('origin', 16).notNullable(); // customer | reseller | admin | schedule | billing | reconcile
    t.string('requested_by', 64).nullable();
    t.string('locked_by', 64).nullable();
    ts(t, 'locked_until').nullable();
    ts(t, 'run_after').notNullable();
    ts(t, 'created_at').notNullable();
    ts(t, 'started_at').nullable();
    ts(t, 'finished_at').nullable();
    ts(t, 'updated_at').notNullable();
    t.index(['status', 'run_after']);
    t.index(['service_id', 'status']);
    t.index(['snapshot_id']);
  });

  await knex.schema.createTable('snapshot_audit_events', (t) => {
    utf8mb4(knex, t);
    t.bigIncrements('id');
    ts(t, 'occurred_at').notNullable();
    t.string('actor_type', 16).notNullable(); // customer | reseller | admin | schedule | billing | system
    t.string('actor_id', 64).nullable();
    t.string('service_id', 64).nullable();
    t.bigInteger('snapshot_id').nullable();
    t.string('snapshot_name', 128).nullable();
    t.string('action', 48).notNullable();
    t.string('result', 16).notNullable(); // ok | refused | failed
    t.string('from_status', 16).nullable();
    t.string('to_status', 16).nullable();
    t.string('code', 64).nullable();
    t.text('details').nullable(); // JSON
    t.string('ip', 45).nullable();
    t.index(['service_id', 'occurred_at']);
    t.index(['occurred_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['snapshot_audit_events', 'snapshot_operations', 'snapshot_snapshots', 'snapshot_schedules', 'snapshot_services', 'snapshot_plan_limits']) {
    await knex.schema.dropTableIfExists(table);
  }
}
