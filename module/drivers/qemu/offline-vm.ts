import { DriverError } from '../contract.js';
import type { QemuVm } from './options.js';
import type { QemuImg } from './qemu-img.js';
import type { QemuSnapshotInfo } from './snapshots.js';

/**
 * Snapshots of a stopped VM through qemu-img, one disk after the other. qemu-img would create a
 * second snapshot with a name already used, so duplicates are refused here.
 */
export class OfflineVm {
  constructor(private readonly img: QemuImg, private readonly vm: QemuVm) {}

  /** The memory-state disk's snapshots; read with -U so a listing never fights a running QEMU. */
  async list(): Promise<QemuSnapshotInfo[]> {
    return (await this.img.info(this.vm.vmstateDisk, true)).snapshots ?? [];
  }

  /** `before` runs once the name is known to be free, before any disk changes. */
  async create(tag: string, before: () => void): Promise<void> {
    const present = await this.disksWith(tag);
    if (present.length) throw new DriverError('already_exists', `snapshot '${tag}' already exists on ${present.join(', ')}`);
    before();
    const done: string[] = [];
    try {
      for (const disk of this.vm.disks) {
        await this.img.snapshotCreate(disk, tag);
        done.push(disk);
      }
    } catch (err) {
      // All disks or none: a snapshot on only some of them could not be restored consistently.
      for (const disk of done) await this.img.snapshotDelete(disk, tag).catch(() => undefined);
      throw err;
    }
  }

  async apply(tag: string): Promise<void> {
    const present = await this.disksWith(tag);
    const missing = this.vm.disks.filter((d) => !present.includes(d));
    if (missing.length) throw new DriverError('not_found', `snapshot '${tag}' does not exist on ${missing.join(', ')}`);
    for (const disk of this.vm.disks) await this.img.snapshotApply(disk, tag);
  }

  async delete(tag: string): Promise<void> {
    const present = await this.disksWith(tag);
    if (!present.length) throw new DriverError('not_found', `snapshot '${tag}' does not exist`);
    for (const disk of present) await this.img.snapshotDelete(disk, tag);
  }

  /**
   * Disks that hold `tag`. Read without -U: the write lock check makes a disk that a QEMU holds
   * fail here as `locked`, before anything is changed.
   */
  private async disksWith(tag: string): Promise<string[]> {
    const out: string[] = [];
    for (const disk of this.vm.disks) {
      if (((await this.img.info(disk)).snapshots ?? []).some((s) => s.name === tag)) out.push(disk);
    }
    return out;
  }
}
