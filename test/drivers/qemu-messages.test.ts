import { describe, expect, it } from 'vitest';
import { classifyLoadFailure, classifyQemuError } from '../../module/drivers/qemu/classify.js';
import type { QmpClient } from '../../module/drivers/qemu/qmp-client.js';
import { concludeJob } from '../../module/drivers/qemu/qmp-vm.js';
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

describe('a failed snapshot-load: did QEMU touch the disks?', () => {
  // Refusals load_snapshot makes before bdrv_all_goto_snapshot reverts the first disk (QEMU 7.2; the
  // last two from later releases): the VM is as it was and keeps its usual code.
  it.each([
    ["Snapshot 's1' does not exist in one or more devices", 'not_found'],
    ["Device 'node-a' is writable but does not support snapshots", 'unsupported_storage'],
    ["No block device node 'gone'", 'rejected'],
    ["vmstate block device 'node-b' does not exist", 'not_found'],
    ["vmstate block device 'node-b' does not support snapshots", 'unsupported_storage'],
    ['no block device can store vmstate for snapshot', 'rejected'],
    ["Could not check snapshot 's1' on 'node-a': Input/output error", 'rejected'],
    ['This is a disk-only snapshot. Revert to it  offline using qemu-img', 'rejected'],
    ['Snapshot can not be found', 'not_found'],
    ['Snapshots are not compatible with x-ignore-shared', 'rejected'],
  ])('before any disk changed: %s → %s', (text, code) => {
    expect(classifyLoadFailure(text)).toMatchObject({ code, detail: text });
  });

  // After the revert began: a later disk failing, the memory state not loading, or words we do not
  // know (a guess of "untouched" would resume a guest over reverted disks).
  it.each([
    'Error -22 while loading VM state',
    "Could not load snapshot 's1' on 'node-b': Can't find snapshot",
    "Could not load snapshot 's1' on 'node-b': Snapshot 's1' does not exist in one or more devices",
    'Could not open VM state file',
    'Operation not permitted',
    '',
  ])('after the revert began: %j → restore_incomplete', (text) => {
    const err = classifyLoadFailure(text);
    expect(err.code).toBe('restore_incomplete');
    expect(err.transient).toBe(false);
    expect(err.detail).toContain(text || 'without a message');
    expect(err.detail).toMatch(/left stopped/);
  });
});

describe('concluding a snapshot-load job', () => {
  /** A QMP conversation that knows one concluded job and a VM that QEMU left stopped. */
  function fakeQmp(job: { error?: string }) {
    const sent: string[] = [];
    const qmp = {
      execute: async (command: string) => {
        sent.push(command);
        if (command === 'query-jobs') return [{ id: 'j', type: 'snapshot-load', status: 'concluded', ...job }];
        if (command === 'query-status') return { running: false, status: 'restore-vm' };
        return {};
      },
    } as unknown as QmpClient;
    return { qmp, sent };
  }
  const after = { op: 'load' as const, wasRunning: true, startAfter: true, diskOnly: false };

  it('continues a VM that ran when QEMU refused before touching a disk', async () => {
    const { qmp, sent } = fakeQmp({ error: "Snapshot 's1' does not exist in one or more devices" });
    expect(await concludeJob(qmp, 'j', after)).toMatchObject({ state: 'failed', error: { code: 'not_found' } });
    expect(sent).toEqual(['query-jobs', 'job-dismiss', 'query-status', 'cont']);
  });

  it('leaves the VM stopped when the load failed after the disks were reverted', async () => {
    const { qmp, sent } = fakeQmp({ error: 'Error -22 while loading VM state' });
    expect(await concludeJob(qmp, 'j', after)).toMatchObject({ state: 'failed', error: { code: 'restore_incomplete' } });
    expect(sent).not.toContain('cont');
    expect(sent).not.toContain('system_reset');
  });
});

describe('QEMU task references', () => {
  const refs: QemuTaskRef[] = [
    { kind: 'job', op: 'load', jobId: 'snap-load-0a1b2c', tag: 'snap-20261122-abc', wasRunning: true, startAfter: false, diskOnly: true },
    { kind: 'job', op: 'save', jobId: 'snap-save-ffff', tag: 'odd: name/with %25 and 한글', wasRunning: false, startAfter: true, diskOnly: false },
    { kind: 'img', op: 'delete', tag: 'a:b:c' },
    { kind: 'clone', token: '0123456789ab', tag: 'psnap-1:x', dest: { node: 'host:1', vmId: 'web 02' } },
    { kind: 'clone', token: 'ffff00001111', tag: 'n', dest: { node: 'local', vmId: '7', storage: '/var/lib/vm%' } },
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
    expect(decodeTaskRef('qemu-clone:NOT-HEX:local:7::n')).toBeNull();
  });
});
