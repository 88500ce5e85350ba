import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { DriverError, type CloneState, type HypervisorTarget, type TaskState } from '../contract.js';
import {
  cloneStateOf, fileError, journalPath, leftovers, partPath, placeWithoutReplacing, readJournal, readJournals, syncToDisk, writeJournal,
  type CloneJournal,
} from './clone-files.js';
import type { QemuVm } from './options.js';
import { identify, isAlive, killIfAlive } from './process-identity.js';
import type { QemuImg } from './qemu-img.js';
import type { QemuSnapshotInfo } from './snapshots.js';
import { encodeTaskRef, type QemuTaskRef } from './task-ref.js';

type CloneRef = Extract<QemuTaskRef, { kind: 'clone' }>;
interface SourceDisk { path: string; snapshot: QemuSnapshotInfo; clusterSize: number | undefined }

/**
 * Outcomes of the clones this process ran, by token, for every driver instance in it (a driver made
 * again in the same process polls the same copies). Another process judges by the files instead.
 */
const outcomes = new Map<string, TaskState>();
const MAX_REMEMBERED = 1000;

/**
 * New guests from internal snapshots: every source disk's contents at the snapshot, copied by
 * `qemu-img convert -U -l snapshot.id=…` into a temporary image next to the destination disk, and
 * moved to the final path only once all disks are copied. The copy runs in this process (the task
 * ends with it); a journal next to the destination says who runs it, so a restarted panel sees a
 * clone whose copier died as failed rather than waiting for it.
 *
 * Why -U is safe while the source VM runs: -U only skips image locking; consistency comes from
 * qcow2 itself. A cluster an internal snapshot references, data or L2 table, has a refcount above
 * one, and QEMU never writes such a cluster in place: it copies it first (the COPIED flag of
 * docs/interop/qcow2.txt). So whatever the guest writes, nothing the snapshot's L1 table leads to
 * changes while the snapshot exists, and it was flushed when the snapshot was taken. The only
 * in-place change, that flag toggled on shared tables when another snapshot is made, loaded or
 * deleted, leaves the offsets qemu-img follows untouched. What -U cannot protect is the snapshot
 * itself being deleted mid-copy (its clusters are freed and may be reused), so the copy is kept only
 * if every disk still holds the same snapshot (id, date, VM clock) afterwards. QMP offers no safer
 * read: no command exports an internal snapshot of an attached image, and a second node opened on
 * the same file would read it exactly as qemu-img does.
 */
export class QemuCloner {
  constructor(
    private readonly img: QemuImg,
    private readonly resolve: (target: HypervisorTarget) => Promise<QemuVm>,
    private readonly driverName: string,
  ) {}

  async start(source: HypervisorTarget, name: string, dest: HypervisorTarget): Promise<string> {
    const src = await this.resolve(source);
    const dst = await this.resolve(dest);
    if (dst.disks.length !== src.disks.length || new Set(dst.disks).size !== dst.disks.length) {
      throw new DriverError('rejected', `${dest.node}/${dest.vmId} has ${dst.disks.length} distinct disk(s) configured; the source has ${src.disks.length}`);
    }
    refuseOccupied(dst.disks);
    const disks = await this.snapshotOn(src.disks, name);
    const token = randomBytes(6).toString('hex');
    const journal: CloneJournal = {
      token, owner: identify(), copier: null, source: { node: source.node, vmId: source.vmId }, snapshot: name, disks: dst.disks,
    };
    writeJournal(journal);
    // Two clones to one destination both got this far: neither may go on.
    if (leftovers(dst.disks).some((f) => !f.startsWith(journalPath(dst.disks, token)))) {
      rmSync(journalPath(dst.disks, token), { force: true });
      throw new DriverError('locked', `another clone to ${dest.node}/${dest.vmId} started at the same time`);
    }
    outcomes.set(token, { state: 'running' });
    void this.copy(disks, journal)
      .catch((err: unknown): TaskState => ({ state: 'failed', error: fileError(err, 'clone failed, and so did removing its files') }))
      .then((state) => remember(token, state));
    const ref: CloneRef = { kind: 'clone', token, tag: name, dest: { node: dest.node, vmId: dest.vmId, ...(dest.storage ? { storage: dest.storage } : {}) } };
    return encodeTaskRef(ref);
  }

  /** Running while its copier lives; succeeded once every disk is in place; failed otherwise. */
  async status(ref: CloneRef): Promise<TaskState> {
    const known = outcomes.get(ref.token);
    if (known) return known;
    const dst = await this.resolve({ driver: this.driverName, ...ref.dest });
    const journal = readJournal(journalPath(dst.disks, ref.token));
    if (journal && isAlive(journal.owner)) return { state: 'running' };
    const state: TaskState = cloneStateOf(dst.disks) === 'complete' ? { state: 'succeeded' } : { state: 'failed', error: lost(ref, journal) };
    remember(ref.token, state);
    return state;
  }

  async state(dest: HypervisorTarget): Promise<CloneState> {
    return cloneStateOf((await this.resolve(dest)).disks);
  }

  /**
   * Removes a dead clone's temporary images, journal and the disks it had already moved into place,
   * and stops a qemu-img it left running. Refuses while a live panel still copies (`locked`), and
   * leaves disks alone that no clone's journal names: those were not made by a clone.
   */
  async discard(dest: HypervisorTarget): Promise<void> {
    const disks = (await this.resolve(dest)).disks;
    if (cloneStateOf(disks) === 'complete') return;
    const journals = readJournals(disks);
    if (journals.some((j) => isAlive(j.owner))) throw new DriverError('locked', `a clone to ${dest.node}/${dest.vmId} is still copying`);
    const ours = new Set(journals.flatMap((j) => j.disks));
    const foreign = disks.filter((d) => existsSync(d) && !ours.has(d));
    if (foreign.length) throw new DriverError('rejected', `${foreign.join(', ')} not written by a clone; left as they are`);
    for (const j of journals) if (j.copier) killIfAlive(j.copier);
    // Journals last: until the end they are what proves the disks removed here were a clone's.
    const files = [...disks.filter((d) => existsSync(d)), ...leftovers(disks).sort((a, b) => Number(a.endsWith('.json')) - Number(b.endsWith('.json')))];
    try {
      for (const f of files) rmSync(f, { force: true });
    } catch (err) {
      throw fileError(err, `cannot remove what a clone left at ${dest.node}/${dest.vmId}`);
    }
  }

  /** Each source disk's snapshot `name` as qemu-img lists it; `not_found` when a disk lacks it. */
  private async snapshotOn(paths: string[], name: string): Promise<SourceDisk[]> {
    const out: SourceDisk[] = [];
    for (const path of paths) {
      const info = await this.img.info(path, true);
      const snapshot = (info.snapshots ?? []).find((s) => s.name === name);
      if (!snapshot) throw new DriverError('not_found', `snapshot '${name}' does not exist on ${path}`);
      out.push({ path, snapshot, clusterSize: info['cluster-size'] });
    }
    return out;
  }

  private async copy(sources: SourceDisk[], journal: CloneJournal): Promise<TaskState> {
    const { token, disks } = journal;
    const placed: string[] = [];
    try {
      for (const [i, src] of sources.entries()) {
        const part = partPath(disks[i]!, token);
        await this.img.convertSnapshot(src.path, src.snapshot, part, src.clusterSize, (pid) => {
          try {
            writeJournal({ ...journal, copier: identify(pid) });
          } catch {
            // Only a cleanup after a crash uses the copier's pid; the copy itself goes on.
          }
        });
        syncToDisk(part);
      }
      const now = await this.snapshotOn(sources.map((s) => s.path), journal.snapshot);
      const changed = now.find((s, i) => !sameSnapshot(s.snapshot, sources[i]!.snapshot));
      if (changed) throw new DriverError('rejected', `snapshot '${journal.snapshot}' on ${changed.path} was replaced while it was copied`);
      for (const disk of disks) {
        placeWithoutReplacing(partPath(disk, token), disk);
        placed.push(disk);
      }
      for (const dir of new Set(disks.map((d) => dirname(d)))) syncToDisk(dir);
      rmSync(journalPath(disks, token), { force: true });
      return { state: 'succeeded' };
    } catch (err) {
      // A failed clone leaves nothing: its temporary images, the disks it moved, then its journal.
      for (const f of [...disks.map((d) => partPath(d, token)), ...placed, journalPath(disks, token)]) rmSync(f, { force: true });
      return { state: 'failed', error: err instanceof DriverError ? err : fileError(err, 'clone failed') };
    }
  }
}

/** `already_exists` when a destination disk is there or a dead clone left files; `locked` while one copies. */
function refuseOccupied(disks: string[]): void {
  const present = disks.filter((d) => existsSync(d));
  if (present.length) throw new DriverError('already_exists', `${present.join(', ')} already exist(s)`);
  const left = leftovers(disks);
  if (!left.length) return;
  if (readJournals(disks).some((j) => isAlive(j.owner))) throw new DriverError('locked', `another clone is writing ${left.join(', ')}`);
  throw new DriverError('already_exists', `an unfinished clone left ${left.join(', ')}; discardClone removes them`);
}

/** Why a clone no process runs any more and whose disks are not all there failed. */
function lost(ref: CloneRef, journal: CloneJournal | null): DriverError {
  const what = `clone of snapshot '${ref.tag}' to ${ref.dest.node}/${ref.dest.vmId}`;
  return new DriverError('rejected', journal
    ? `the panel process (pid ${journal.owner.pid}) running the ${what} is gone; discardClone removes what it left`
    : `the ${what} did not finish (it failed or was discarded in a panel process that has since restarted)`);
}

function sameSnapshot(a: QemuSnapshotInfo, b: QemuSnapshotInfo): boolean {
  return a.id === b.id && a['date-sec'] === b['date-sec'] && a['date-nsec'] === b['date-nsec']
    && a['vm-clock-sec'] === b['vm-clock-sec'] && a['vm-clock-nsec'] === b['vm-clock-nsec'];
}

function remember(token: string, state: TaskState): void {
  outcomes.set(token, state);
  if (outcomes.size > MAX_REMEMBERED) outcomes.delete(outcomes.keys().next().value!);
}
