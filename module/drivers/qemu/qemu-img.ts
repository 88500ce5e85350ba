import { execFile } from 'node:child_process';
import { DriverError } from '../contract.js';
import { classifyQemuError } from './classify.js';
import type { QemuSnapshotInfo } from './snapshots.js';

export interface QemuImageInfo {
  filename: string;
  format: string;
  'virtual-size': number;
  'actual-size'?: number;
  snapshots?: QemuSnapshotInfo[];
}

export interface QemuImgOptions {
  /** The binary; default `qemu-img` from PATH. */
  binary?: string;
  /** A call still running after this long is killed and reported as `timeout`. */
  timeoutMs: number;
}

/**
 * `qemu-img` for disks of stopped VMs. Every failure becomes a classified DriverError; a disk held by
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

  private run(args: string[]): Promise<string> {
    const binary = this.options.binary ?? 'qemu-img';
    return new Promise((resolve, reject) => {
      execFile(binary, args, { timeout: this.options.timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
        if (e.code === 'ENOENT') return reject(new DriverError('unreachable', `${binary} not found: install qemu-utils`));
        if (e.killed || e.signal === 'SIGTERM') {
          return reject(new DriverError('timeout', `${binary} ${args.join(' ')} still running after ${this.options.timeoutMs} ms`));
        }
        reject(classifyQemuError(errorLines(stderr) || e.message));
      });
    });
  }
}

/** qemu-img's own error lines, without the format-probing warnings it prints around them. */
function errorLines(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('qemu-img:'));
  return (lines.length ? lines.join('\n') : stderr).trim();
}
