import { execFile } from 'node:child_process';
import { DriverError } from '../contract.js';
import { classifyQemuError } from './classify.js';
import type { QemuSnapshotInfo } from './snapshots.js';

export interface QemuImageInfo {
  filename: string;
  format: string;
  'virtual-size': number;
  'actual-size'?: number;
  'cluster-size'?: number;
  snapshots?: QemuSnapshotInfo[];
}

export interface QemuImgOptions {
  /** The binary; default `qemu-img` from PATH. */
  binary?: string;
  /** A call still running after this long is killed and reported as `timeout`. */
  timeoutMs: number;
}

/**
 * `qemu-img` for disks of stopped VMs, and for copying a snapshot out of any VM's disk (clones). Every failure becomes a classified DriverError; a disk held by
 * a running QEMU fails with "Failed to get "write" lock", which is `locked`.
 */
export class QemuImg {
  constructor(private readonly options: QemuImgOptions) {}

  /**
   * Image details including internal snapshots. `forceShare` (-U) reads an image another process
   * holds, for listing only: it never takes the write lock.
   */
  async info(disk: string, forceShare = false): Promise<QemuImageInfo> {
    const out = await this.run(['info', '--output=json', ...(forceShare ? ['-U'] : []), disk]);
    try {
      return JSON.parse(out) as QemuImageInfo;
    } catch {
      throw new DriverError('rejected', `qemu-img info ${disk}: unreadable output`);
    }
  }

  async snapshotCreate(disk: string, name: string): Promise<void> {
    await this.run(['snapshot', '-c', name, disk]);
  }

  async snapshotApply(disk: string, name: string): Promise<void> {
    await this.run(['snapshot', '-a', name, disk]);
  }

  async snapshotDelete(disk: string, name: string): Promise<void> {
    await this.run(['snapshot', '-d', name, disk]);
  }

  /**
   * Copies the guest-visible contents of `disk` at internal snapshot `snapshot` into a new qcow2
   * image `out` (no snapshots, no backing file). Read with -U: see clone.ts for why that is safe.
   * No time limit, a disk of any size takes what it takes; `started` gets the process id.
   */
  async convertSnapshot(disk: string, snapshot: { id: string; name: string }, out: string, clusterSize: number | undefined,
    started: (pid: number) => void): Promise<void> {
    // QemuOpts syntax: a comma inside a value is written twice.
    const param = `snapshot.id=${snapshot.id},snapshot.name=${snapshot.name.replaceAll(',', ',,')}`;
    const create = clusterSize ? ['-o', `cluster_size=${clusterSize}`] : [];
    await this.run(['convert', '-U', '-f', 'qcow2', '-l', param, '-O', 'qcow2', ...create, disk, out], { timeoutMs: 0, started });
  }

  private run(args: string[], opts: { timeoutMs?: number; started?: (pid: number) => void } = {}): Promise<string> {
    const binary = this.options.binary ?? 'qemu-img';
    const timeout = opts.timeoutMs ?? this.options.timeoutMs;
    return new Promise((resolve, reject) => {
      const child = execFile(binary, args, { timeout, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
        if (e.code === 'ENOENT') return reject(new DriverError('unreachable', `${binary} not found: install qemu-utils`));
        if (timeout > 0 && (e.killed || e.signal === 'SIGTERM')) {
          return reject(new DriverError('timeout', `${binary} ${args.join(' ')} still running after ${timeout} ms`));
        }
        reject(classifyQemuError(errorLines(stderr) || e.message));
      });
      if (child.pid !== undefined) opts.started?.(child.pid);
    });
  }
}

/** qemu-img's own error lines, without the format-probing warnings it prints around them. */
function errorLines(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('qemu-img:'));
  return (lines.length ? lines.join('\n') : stderr).trim();
}
