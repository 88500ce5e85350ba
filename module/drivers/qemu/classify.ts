import { DriverError, type DriverErrorCode } from '../contract.js';

/** QEMU's words → our codes. Order matters: the first matching rule wins. */
const RULES: [RegExp, DriverErrorCode][] = [
  [/failed to get (shared )?"?\w+"? lock|is in use|device or resource busy|job id .* already in use|another snapshot job/i, 'locked'],
  [/already exists/i, 'already_exists'],
  [/does not exist|snapshot not found|no snapshot found|can't find snapshot|snapshot can ?not be found/i, 'not_found'],
  [/does not support (internal )?snapshots|doesn't support|snapshots? (are|is) not supported|not support snapshot|operation not supported/i, 'unsupported_storage'],
  [/permission denied|operation not permitted/i, 'permission'],
];

/**
 * How a failed snapshot-load job words the checks QEMU makes before it reverts the first disk
 * (device list, snapshot support, the tag on every device, the vmstate node, a snapshot without
 * memory). Anchored: the same phrases also appear inside later messages, e.g. a revert that failed
 * on the second disk ("Could not load snapshot … on …: …"), after the first one was reverted.
 */
const LOAD_REFUSED_UNTOUCHED: RegExp[] = [
  /^At least one device is required for snapshot/,
  /^No block device node '/,
  /^Device '.*' is writable but does not support snapshots/,
  /^Could not check snapshot '/,
  /^Snapshot '.*' does not exist in one or more devices/,
  /^Snapshot can not be found/,
  /^vmstate block device '.*' does not (support snapshots|exist)/,
  /^no block device can store vmstate for snapshot/i,
  /^This is a disk-only snapshot/,
  /^Snapshots are not compatible with /,
];

/** Classifies a message from qemu-img or a QMP job/command error into a DriverError. */
export function classifyQemuError(text: string): DriverError {
  const detail = text.trim() || 'QEMU reported an error without a message';
  const rule = RULES.find(([re]) => re.test(detail));
  return new DriverError(rule?.[1] ?? 'rejected', detail);
}

/**
 * A failed snapshot-load job. QEMU reverts the disks before it loads the memory state, and once it
 * has begun the VM is neither the old one nor the snapshot: only the refusals QEMU makes before that
 * point leave it as it was. Any other message — including ones this list does not know — is taken
 * as `restore_incomplete`, since resuming a guest over reverted disks would corrupt them.
 */
export function classifyLoadFailure(text: string): DriverError {
  const detail = text.trim();
  if (LOAD_REFUSED_UNTOUCHED.some((re) => re.test(detail))) return classifyQemuError(detail);
  return new DriverError('restore_incomplete',
    `${detail || 'QEMU reported an error without a message'} (snapshot-load failed after it began reverting the disks; the VM was left stopped)`);
}
