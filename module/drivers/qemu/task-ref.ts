/**
 * Task references of the QEMU driver. QMP jobs run asynchronously: the reference names the job and
 * carries what is needed to finish it after a panel restart (the tag, whether the VM ran before a
 * restore, whether to start it after, whether the snapshot was meant without memory). qemu-img calls are synchronous and throw on failure, so their
 * reference is final and successful. A clone names its destination and the token of its files
 * there, which is all a restarted panel needs to judge it (see clone.ts).
 */
export type QemuOp = 'save' | 'load' | 'delete';

/** The destination of a clone as its target names it (the driver is the one polled). */
export interface CloneDest {
  node: string;
  vmId: string;
  storage?: string;
}

export type QemuTaskRef =
  | { kind: 'job'; op: QemuOp; jobId: string; tag: string; wasRunning: boolean; startAfter: boolean; diskOnly: boolean }
  | { kind: 'img'; op: QemuOp; tag: string }
  | { kind: 'clone'; token: string; tag: string; dest: CloneDest };

export function encodeTaskRef(ref: QemuTaskRef): string {
  const tag = encodeURIComponent(ref.tag);
  if (ref.kind === 'img') return `qemu-img:${ref.op}:${tag}`;
  if (ref.kind === 'clone') {
    const dest = [ref.dest.node, ref.dest.vmId, ref.dest.storage ?? ''].map(encodeURIComponent).join(':');
    return `qemu-clone:${ref.token}:${dest}:${tag}`;
  }
  const flags = `${ref.wasRunning ? 'r' : '-'}${ref.startAfter ? 's' : '-'}${ref.diskOnly ? 'd' : '-'}`;
  return `qemu-job:${ref.op}:${ref.jobId}:${flags}:${tag}`;
}

/** Decodes a reference, or null when it is not one of ours. */
export function decodeTaskRef(text: string): QemuTaskRef | null {
  try {
    return decode(text);
  } catch {
    return null; // malformed percent-encoding: not a reference we wrote
  }
}

function decode(text: string): QemuTaskRef | null {
  const img = /^qemu-img:(save|load|delete):(.*)$/.exec(text);
  if (img) return { kind: 'img', op: img[1] as QemuOp, tag: decodeURIComponent(img[2]!) };
  const clone = /^qemu-clone:([0-9a-f]+):([^:]*):([^:]*):([^:]*):(.*)$/.exec(text);
  if (clone) {
    const [node, vmId, storage] = [clone[2]!, clone[3]!, clone[4]!].map(decodeURIComponent) as [string, string, string];
    // An empty storage is no storage: no driver names one ''.
    return { kind: 'clone', token: clone[1]!, tag: decodeURIComponent(clone[5]!), dest: storage ? { node, vmId, storage } : { node, vmId } };
  }
  const job = /^qemu-job:(save|load|delete):([A-Za-z0-9_-]+):([r-])([s-])([d-]):(.*)$/.exec(text);
  if (!job) return null;
  return {
    kind: 'job', op: job[1] as QemuOp, jobId: job[2]!, wasRunning: job[3] === 'r', startAfter: job[4] === 's', diskOnly: job[5] === 'd',
    tag: decodeURIComponent(job[6]!),
  };
}
