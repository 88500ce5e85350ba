import type { Knex } from 'knex';

// The kind of guest an operation's target names (Proxmox: 'qemu' or 'lxc'), kept with the operation
// so a queued or resumed operation reaches a container through the container endpoints. Null: a VM,
// as every operation stored before.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('snapshot_operations', (t) => {
    t.string('guest_type', 8).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('snapshot_operations', (t) => {
    t.dropColumn('guest_type');
  });
}
