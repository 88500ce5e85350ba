import {
  closeSync, existsSync, fsyncSync, linkSync, openSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DriverError, type CloneState } from '../contract.js';
import type { ProcessIdentity } from './process-identity.js';

/**
 * What a clone writes next to the destination's first disk before it copies anything, and removes
 * once every disk is in place. Its presence says a clone began and did not finish; its owner says
 * whether anyone is still working on it; its disk list says which final paths the clone may have
 * filled, so a cleanup removes those and nothing else.
 */
export interface CloneJournal {
  token: string;
  /** The panel process running the copy: when it is gone, nobody will finish it. */
  owner: ProcessIdentity;
  /** The qemu-img copying now, so a cleanup can stop one its dead panel left running. */
  copier: ProcessIdentity | null;
  source: { node: string; vmId: string };
  snapshot: string;
  /** The destination's disks in order; each is written first to `partPath(disk, token)`. */
  disks: string[];
}

/** The temporary image a clone writes for `disk`, renamed to `disk` once all disks are copied. */
export function partPath(disk: string, token: string): string {
  return `${disk}.clone-${token}.part`;
}

export function journalPath(disks: string[], token: string): string {
  return `${disks[0]!}.clone-${token}.json`;
}

/** Everything clones left next to these disks: temporary images, journals, half-written journals. */
export function leftovers(disks: string[]): string[] {
  const found = new Set<string>();
  for (const disk of disks) {
    const dir = dirname(disk);
    const prefix = `${basename(disk)}.clone-`;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue; // a directory that is not there holds nothing
    }
    for (const n of names) if (n.startsWith(prefix) && /^[0-9a-f]+\./.test(n.slice(prefix.length))) found.add(join(dir, n));
  }
  return [...found];
}

/** The journals of all clones to these disks; one that cannot be read is left to `leftovers`. */
export function readJournals(disks: string[]): CloneJournal[] {
  return leftovers(disks).filter((f) => f.endsWith('.json')).flatMap((f) => {
    const journal = readJournal(f);
    return journal ? [journal] : [];
  });
}

export function readJournal(path: string): CloneJournal | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as CloneJournal;
  } catch {
    return null;
  }
}

/** Writes the journal whole or not at all (a temporary file renamed over it). */
export function writeJournal(journal: CloneJournal): void {
  const path = journalPath(journal.disks, journal.token);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(journal));
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw fileError(err, `cannot write ${path}`);
  }
}

/** Absent: nothing there. Complete: every disk. Partial: anything in between, a clone's leftovers included. */
export function cloneStateOf(disks: string[]): CloneState {
  const present = disks.filter((d) => existsSync(d)).length;
  if (present === disks.length) return 'complete';
  return present > 0 || leftovers(disks).length > 0 ? 'partial' : 'absent';
}

/**
 * Moves a finished temporary image to its final path, never over a file already there (a hard
 * link fails on an existing name, where a rename would replace it). Filesystems without hard
 * links get a check and a rename.
 */
export function placeWithoutReplacing(part: string, disk: string): void {
  try {
    linkSync(part, disk);
    unlinkSync(part);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new DriverError('already_exists', `${disk} appeared while the clone ran; left as it is`);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw fileError(err, `cannot move ${part} to ${disk}`);
  }
  if (existsSync(disk)) throw new DriverError('already_exists', `${disk} appeared while the clone ran; left as it is`);
  renameSync(part, disk);
}

/** Flushes a file (or a directory's entries) to stable storage, so a power cut keeps what was renamed. */
export function syncToDisk(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A filesystem error as a DriverError: `permission` where the panel may not write, else `rejected`. */
export function fileError(err: unknown, what: string): DriverError {
  if (err instanceof DriverError) return err;
  const e = err as NodeJS.ErrnoException;
  return new DriverError(e.code === 'EACCES' || e.code === 'EPERM' ? 'permission' : 'rejected', `${what}: ${e.message}`);
}
