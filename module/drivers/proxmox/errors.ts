import { DriverError, type DriverErrorCode } from '../contract.js';
import { ProxmoxHttpError, ProxmoxTimeoutError } from './http-client.js';

/**
 * Proxmox's own words, as its API returns them (status line) or as a task's exit status, mapped to
 * codes. Order matters: a lock message may end in "got timeout" and is still a lock.
 */
const RULES: [RegExp, DriverErrorCode][] = [
  [/\b(VM|CT) is locked\b/i, 'locked'],
  [/can't lock file/i, 'locked'],
  [/\bcfs-lock\b.*\berror\b/i, 'locked'],
  [/\bsnapshot name '.*' already used\b/i, 'already_exists'],
  [/\balready (used|exists)\b/i, 'already_exists'],
  // A clone's new config on one node while the id is taken on another: pmxcfs refuses the rename.
  [/\batomic file '[^']*\/(qemu-server|lxc)\/\d+\.conf' failed: File exists\b/, 'already_exists'],
  [/\bsnapshot feature is not available\b/i, 'unsupported_storage'],
  // qemu-server: a storage that cannot copy a volume from a snapshot (ZFS); pve-container's linked-clone twin.
  [/\b(Full|Linked) clone feature is not supported\b/, 'unsupported_storage'],
  [/\bLinked clone feature for '.*' is not available\b/, 'unsupported_storage'],
  [/\bcannot mount subvol snapshots for storage type\b/, 'unsupported_storage'],
  [/\bPermission check failed\b/i, 'permission'],
  [/\bpermission denied\b/i, 'permission'],
  // The node read its own config directory and the guest is not there: gone, or moved elsewhere.
  [/\bConfiguration file 'nodes\/[^/']+\/(qemu-server|lxc)\/\d+\.conf' does not exist\b/, 'guest_missing'],
  [/\bunable to rollback to incomplete snapshot\b/i, 'snapshot_incomplete'],
  // Only the config's snapshot entry missing means the snapshot is gone. "snapshot 'x' does not
  // exist on 'storage'", a storage or a volume that does not exist: the entry is still there.
  [/^snapshot '[^']*' does not exist(?! on )/m, 'not_found'],
  [/\bno such task\b/i, 'not_found'],
  [/\b(got timeout|timed out|timeout)\b/i, 'timeout'],
];

/** The code for a message from Proxmox (a task exit status or an API error text). */
export function classifyMessage(message: string): DriverErrorCode {
  for (const [pattern, code] of RULES) if (pattern.test(message)) return code;
  return 'rejected';
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE',
  'ERR_PROXMOX_FINGERPRINT_MISMATCH',
]);

/** Any failure of a call to Proxmox as a `DriverError` (already-classified errors pass through). */
export function toDriverError(err: unknown): DriverError {
  if (err instanceof DriverError) return err;
  if (err instanceof ProxmoxTimeoutError) return new DriverError('timeout', err.message);
  if (err instanceof ProxmoxHttpError) return new DriverError(classifyHttp(err.status, err.message), `HTTP ${err.status}: ${err.message}`);
  const e = err as NodeJS.ErrnoException | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = e instanceof Error ? e.message : String(err);
  if (code === 'ETIMEDOUT') return new DriverError('timeout', message);
  // Certificate problems mean "not the server we trust": as unreachable as a closed port.
  if (UNREACHABLE_CODES.has(code) || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|HOSTNAME_MISMATCH/.test(code)) {
    return new DriverError('unreachable', `${code}: ${message}`);
  }
  return new DriverError('rejected', message);
}

function classifyHttp(status: number, message: string): DriverErrorCode {
  if (status === 401 || status === 403) return 'permission';
  // pveproxy's own answers (595–599) when it cannot reach or hear back from the node that owns the guest.
  if (status >= 595 && status <= 599) return /timed out|timeout/i.test(message) ? 'timeout' : 'unreachable';
  const byText = classifyMessage(message);
  if (byText !== 'rejected') return byText;
  return 'rejected';
}
