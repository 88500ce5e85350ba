import { describe, expect, it } from 'vitest';
import { classifyQemuError } from '../../module/drivers/qemu/classify.js';
import { decodeTaskRef, encodeTaskRef, type QemuTaskRef } from '../../module/drivers/qemu/task-ref.js';

describe('QEMU error classification', () => {
  // Messages as QEMU 7.2 and its qemu-img print them.
  it.each([
    ['qemu-img: Could not open \'/d/a.qcow2\': Failed to get "write" lock', 'locked'],
    ['qemu-img: Could not open \'a.qcow2\': Failed to get shared "write" lock', 'locked'],
    ["Job ID 'snap-save-1' already in use", 'locked'],
    ["Snapshot 's1' already exists in one or more devices", 'already_exists'],
    ["Snapshot 'nope' does not exist in one or more devices", 'not_found'],
    ["qemu-img: Could not delete snapshot 'nope': snapshot not found", 'not_found'],
    ["qemu-img: Could not create snapshot 'x': -95 (Operation not supported)", 'unsupported_storage'],
    ["Device 'virtio0' is writable but does not support snapshots", 'unsupported_storage'],
    ['qemu-img: Could not open \'/d/a.qcow2\': Permission denied', 'permission'],
    // A missing image is a setup error, never "snapshot not found" (a delete would count it as done).
    ["qemu-img: Could not open '/d/none.qcow2': Could not open '/d/none.qcow2': No such file or directory", 'rejected'],
    ['This is a disk-only snapshot. Revert to it offline using qemu-img', 'rejected'],
  ])('%s → %s', (text, code) => {
    const err = classifyQemuError(text);
    expect(err.code).toBe(code);
    expect(err.detail).toBe(text);
  });

  it('keeps an empty message recognisable', () => {
    expect(classifyQemuError('  ')).toMatchObject({ code: 'rejected', detail: expect.stringMatching(/without a message/) });
  });
});

describe('QEMU task references', () => {
  const refs: QemuTaskRef[] = [
    { kind: 'job', op: 'load', jobId: 'snap-load-0a1b2c', tag: 'snap-20261122-abc', wasRunning: true, startAfter: false, diskOnly: true },
    { kind: 'job', op: 'save', jobId: 'snap-save-ffff', tag: 'odd: name/with %25 and 한글', wasRunning: false, startAfter: true, diskOnly: false },
    { kind: 'img', op: 'delete', tag: 'a:b:c' },
  ];
  it.each(refs)('round-trips %j', (ref) => {
    const text = encodeTaskRef(ref);
    expect(text.length).toBeLessThan(255); // the operations table's driver_task column
    expect(decodeTaskRef(text)).toEqual(ref);
  });

  it('does not mistake other drivers\' references or broken ones for its own', () => {
    expect(decodeTaskRef('UPID:pve1:0000:task')).toBeNull();
    expect(decodeTaskRef('SIM:node1:00000001:create:101')).toBeNull();
    expect(decodeTaskRef('qemu-job:save:bad id:---:x')).toBeNull();
    expect(decodeTaskRef('qemu-img:save:%E0%A4%A')).toBeNull();
  });
});
