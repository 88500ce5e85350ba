import { DriverError, type DriverErrorCode } from '../contract.js';

/** QEMU's words → our codes. Order matters: the first matching rule wins. */
const RULES: [RegExp, DriverErrorCode][] = [
  [/failed to get (shared )?"?\w+"? lock|is in use|device or resource busy|job id .* already in use|another snapshot job/i, 'locked'],
  [/already exists/i, 'already_exists'],
  [/does not exist|snapshot not found|no snapshot found|can't find snapshot/i, 'not_found'],
  [/does not support (internal )?snapshots|doesn't support|snapshots? (are|is) not supported|not support snapshot|operation not supported/i, 'unsupported_storage'],
  [/permission denied|operation not permitted/i, 'permission'],
];

/** Classifies a message from qemu-img or a QMP job/command error into a DriverError. */
export function classifyQemuError(text: string): DriverError {
  const detail = text.trim() || 'QEMU reported an error without a message';
  const rule = RULES.find(([re]) => re.test(detail));
  return new DriverError(rule?.[1] ?? 'rejected', detail);
}
