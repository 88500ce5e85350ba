import { afterEach } from 'vitest';
import type { Knex } from 'knex';
import { migratedDatabase, type TestDatabase } from '../helpers/databases.js';
import { moduleFixture } from '../helpers/module-fixture.js';
import { tempDir, TestVm } from './qemu-harness.js';

/** What a QEMU test made, each undone after the test, the last made first. */
export interface QemuScratch {
  /** A new scratch folder (short path: QMP sockets live there). */
  dir(): { path: string };
  /** A VM running `disks` (see TestVm.start). */
  vm(dir: string, disks: string[], opts?: Parameters<typeof TestVm.start>[2]): Promise<TestVm>;
  /** A fresh migrated database of `kind`. */
  database(kind: TestDatabase): Promise<{ db: Knex; url: string }>;
  /** A module over `db` (see moduleFixture), stopped after the test. */
  module(db: Knex, opts: Parameters<typeof moduleFixture>[1]): Promise<Awaited<ReturnType<typeof moduleFixture>>>;
}

/**
 * Per test, the QEMU suites' scratch: folders, VMs, databases and modules, each registered as it is
 * made and undone after the test in reverse order (a module is stopped before its database is
 * dropped, a VM before its folder goes). Call it in the describe body.
 */
export function useQemuScratch(): QemuScratch {
  const undo: Array<() => unknown> = [];
  afterEach(async () => {
    const errors: unknown[] = [];
    while (undo.length) await Promise.resolve(undo.pop()!()).catch((err: unknown) => errors.push(err));
    if (errors.length) throw errors[0];
  });
  return {
    dir() {
      const d = tempDir();
      undo.push(d.cleanup);
      return { path: d.path };
    },
    async vm(dir, disks, opts) {
      const vm = await TestVm.start(dir, disks, opts);
      undo.push(() => vm.stop());
      return vm;
    },
    async database(kind) {
      const handle = await migratedDatabase(kind);
      undo.push(() => handle.destroy());
      return handle;
    },
    async module(db, opts) {
      const fx = await moduleFixture(db, opts);
      undo.push(() => fx.mod.stop());
      return fx;
    },
  };
}
