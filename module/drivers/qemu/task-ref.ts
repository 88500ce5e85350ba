/**
 * Task references of the QEMU driver. QMP jobs run asynchronously: the reference names the job and
 * carries what is needed to finish it after a panel restart (the tag, whether the VM ran before a
 * restore, whether to start it after, whether the snapshot was meant without memory). qemu-img calls are synchronous and throw on failure, so their
 * reference is final and successful.
 */
export type QemuOp = 'save' | 'load' | 'delete';

export type QemuTaskRef =
  | { kind: 'job'; op: QemuOp; jobId: string; tag: string; wasRunning: boolean; startAfter: boolean; diskOnly: boolean }
  | { kind: 'img'; op: QemuOp; tag: string };

export function encodeTaskRef(ref: QemuTaskRef): string {
  const tag = encodeURIComponent(ref.tag);
  if (ref.kind === 'img') return `qemu-img:${ref.op}:${tag}`;
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
  const job = /^qemu-job:(save|load|delete):([A-Za-z0-9_-]+):([r-])([s-])([d-]):(.*)$/.exec(text);
  if (!job) return null;
  return {
    kind: 'job', op: job[1] as QemuOp, jobId: job[2]!, wasRunning: job[3] === 'r', startAfter: job[4] === 's', diskOnly: job[5] === 'd',
    tag: decodeURIComponent(job[6]!),
  };
}
