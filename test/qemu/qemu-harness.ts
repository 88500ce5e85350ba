import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpClient, withQmp } from '../../module/drivers/qemu/qmp-client.js';
import { waitFor } from '../helpers/wait-for.js';

const BINARIES = ['qemu-system-x86_64', 'qemu-img', 'qemu-io', 'stdbuf'];

/** Which of the binaries these tests need are not on PATH. */
function missingBinaries(): string[] {
  return BINARIES.filter((b) => spawnSync(b, ['--version'], { stdio: 'ignore' }).error);
}

const MISSING = missingBinaries();
const INSTALL = '(Debian: apt-get install qemu-system-x86 qemu-utils; stdbuf is in coreutils)';

/**
 * Under CI a missing QEMU fails the suite (a green run must mean the driver was tested); elsewhere
 * the suite is skipped and says why.
 */
if (MISSING.length && process.env.CI === 'true') {
  throw new Error(`CI=true but ${MISSING.join(', ')} not found ${INSTALL}`);
}

export const HAS_QEMU = MISSING.length === 0;
/** Appended to describe titles so a skipped run says what to install. */
export const SKIP_NOTE = HAS_QEMU ? '' : ` — SKIPPED: ${MISSING.join(', ')} not installed ${INSTALL}`;
if (!HAS_QEMU) console.warn(`QEMU tests skipped: ${MISSING.join(', ')} not installed ${INSTALL}`);

export const KiB = 1024;
export const DISK_BYTES = 1024 * KiB;

/** A temporary directory for disks and sockets, removed by `cleanup`. */
export function tempDir(): { path: string; cleanup(): void } {
  // Short path: unix socket paths are limited to ~107 bytes.
  const path = mkdtempSync(join(tmpdir(), 'qemu-t-'));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A fresh qcow2 image of DISK_BYTES, all zeros. */
export function createDisk(dir: string, name: string): string {
  const file = join(dir, name);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, String(DISK_BYTES)]);
  return file;
}

/** Runs a qemu-io command on an image no VM holds. */
export function qemuIoOffline(disk: string, command: string): string {
  return execFileSync('qemu-io', ['-f', 'qcow2', '-c', command, disk], { encoding: 'utf8' });
}

/** The image's guest-visible bytes. */
export function rawBytes(disk: string, dir: string): Buffer {
  const out = join(dir, `raw-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  execFileSync('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', disk, out]);
  try {
    return readFileSync(out);
  } finally {
    rmSync(out, { force: true });
  }
}

/** qemu-img's snapshot list of an image (with -U, so it also works while a VM holds it). */
export function imageSnapshots(disk: string): { name: string; 'vm-state-size': number }[] {
  const info = JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', disk], { encoding: 'utf8' })) as { snapshots?: { name: string; 'vm-state-size': number }[] };
  return info.snapshots ?? [];
}

/** Expected disk content: zeros except the given filled regions. */
export function expectedImage(regions: { offset: number; length: number; byte: number }[]): Buffer {
  const buf = Buffer.alloc(DISK_BYTES);
  for (const r of regions) buf.fill(r.byte, r.offset, r.offset + r.length);
  return buf;
}

/** What a two-disk VM's disks hold at snapshot time in the tests: a pattern at the start of each disk and one further in. */
export const AT_SNAPSHOT = [
  [{ offset: 0, length: 64 * KiB, byte: 0xaa }, { offset: 768 * KiB, length: 4 * KiB, byte: 0x5c }],
  [{ offset: 128 * KiB, length: 64 * KiB, byte: 0x3e }],
];
/** Written after the snapshot: over the snapshot's bytes and into regions that were zero. */
export const AFTER = [
  [{ offset: 0, length: 64 * KiB, byte: 0xbb }, { offset: 256 * KiB, length: 64 * KiB, byte: 0xcc }],
  [{ offset: 128 * KiB, length: 4 * KiB, byte: 0x11 }, { offset: 900 * KiB, length: 8 * KiB, byte: 0x22 }],
];

/** A tiny QEMU VM (no OS) with its QMP socket; qemu-io output is read from its stdout. */
export class TestVm {
  private output = '';
  readonly exited: Promise<void>;
  private constructor(readonly process: ChildProcess, readonly socket: string) {
    // stdbuf: qemu-io's printf output would otherwise sit in a pipe buffer.
    process.stdout!.on('data', (d: Buffer) => { this.output += d.toString(); });
    process.stderr!.on('data', (d: Buffer) => { this.output += d.toString(); });
    this.exited = new Promise((resolve) => process.once('exit', () => resolve()));
  }

  /**
   * Starts QEMU paused (-S) with the disks as virtio0, virtio1, … and waits for QMP. `memoryMiB`
   * (default 64) lets a test boot the same disks with another RAM size than its snapshots hold.
   */
  static async start(dir: string, disks: string[], opts: { run?: boolean; memoryMiB?: number } = {}): Promise<TestVm> {
    const socket = join(dir, 'qmp.sock');
    const args = [
      '-oL', 'qemu-system-x86_64', '-machine', 'q35,accel=tcg', '-m', String(opts.memoryMiB ?? 64), '-nodefaults', '-display', 'none', '-S',
      '-qmp', `unix:${socket},server=on,wait=off`,
      ...disks.flatMap((d) => ['-drive', `file=${d},if=virtio,format=qcow2`]),
    ];
    const vm = new TestVm(spawn('stdbuf', args, { stdio: ['ignore', 'pipe', 'pipe'] }), socket);
    await waitFor(async () => withQmp(socket, { timeoutMs: 2000 }, async () => true), 20_000, `QMP on ${socket}: ${vm.output}`, 50);
    if (opts.run !== false) await vm.qmp('cont');
    return vm;
  }

  /** One QMP command on a short connection (the driver connects in between). */
  qmp<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    return withQmp(this.socket, { timeoutMs: 30_000 }, (q: QmpClient) => q.execute<T>(command, args));
  }

  hmp(commandLine: string): Promise<string> {
    return this.qmp<string>('human-monitor-command', { 'command-line': commandLine });
  }

  async status(): Promise<string> {
    return (await this.qmp<{ status: string }>('query-status')).status;
  }

  /** Runs qemu-io inside the running QEMU and returns what it printed. */
  async qemuIo(device: string, command: string): Promise<string> {
    const mark = this.output.length;
    const reply = await this.hmp(`qemu-io ${device} "${command}"`);
    if (reply.trim()) throw new Error(`qemu-io ${device} "${command}": ${reply}`);
    // Every qemu-io read/write ends with its statistics line ("… ops/sec)").
    await waitFor(() => /ops\/sec\)\n/.test(this.output.slice(mark)), 10_000, `qemu-io output for ${command}`);
    return this.output.slice(mark);
  }

  async write(device: string, byte: number, offset: number, length: number): Promise<void> {
    const out = await this.qemuIo(device, `write -P 0x${byte.toString(16)} ${offset} ${length}`);
    if (!out.includes(`wrote ${length}/${length} bytes`)) throw new Error(`write failed: ${out}`);
  }

  /** Whether every byte of the region equals `byte` (qemu-io's pattern check). */
  async holds(device: string, byte: number, offset: number, length: number): Promise<boolean> {
    const out = await this.qemuIo(device, `read -P 0x${byte.toString(16)} ${offset} ${length}`);
    if (!out.includes(`read ${length}/${length} bytes`)) throw new Error(`read failed: ${out}`);
    return !out.includes('Pattern verification failed');
  }

  /** The snapshots QEMU sees on a device right now. */
  async snapshots(device: string): Promise<{ name: string; 'vm-state-size': number }[]> {
    const blocks = await this.qmp<{ device: string; inserted?: { image?: { snapshots?: { name: string; 'vm-state-size': number }[] } } }[]>('query-block');
    return blocks.find((b) => b.device === device)?.inserted?.image?.snapshots ?? [];
  }

  /** Quits QEMU (kills it if QMP does not answer) and waits for the process to end. */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    await this.qmp('quit').catch(() => this.process.kill('SIGKILL'));
    const killer = setTimeout(() => this.process.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(killer);
  }
}
