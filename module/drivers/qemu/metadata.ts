import { JsonStateFile } from '../simulated/state-file.js';

export interface SnapshotMeta {
  description: string | null;
  /**
   * Asked for without memory. A running VM's snapshot still carries its memory state (QEMU loads
   * nothing else into a running VM); a restore then resets the guest, so it boots from the disks.
   */
  diskOnly: boolean;
}

/**
 * What qcow2 cannot hold about our snapshots — their description and whether they were meant
 * without memory — in a small JSON file next to the VM's memory-state disk.
 */
export class SnapshotMetadata {
  private readonly file: JsonStateFile<Record<string, SnapshotMeta>>;
  constructor(path: string) {
    this.file = new JsonStateFile(path, () => ({}));
  }

  get(name: string): SnapshotMeta | null {
    return this.all()[name] ?? null;
  }

  all(): Readonly<Record<string, SnapshotMeta>> {
    this.file.reload();
    return this.file.read();
  }

  set(name: string, meta: SnapshotMeta): void {
    this.file.reload();
    this.file.update((all) => { all[name] = meta; });
  }

  remove(name: string): void {
    this.file.reload();
    if (!(name in this.file.read())) return;
    this.file.update((all) => { delete all[name]; });
  }
}
