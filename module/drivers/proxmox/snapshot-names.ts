import { createHash } from 'node:crypto';
import type { GuestType } from './paths.js';

/** Proxmox's `pve-snapshot-name`: `pve-configid` (a letter, then letters, digits, `_` or `-`), at most 40. */
const PVE_SNAPNAME = /^[A-Za-z][A-Za-z0-9_-]{1,39}$/;

/**
 * Names the snapshot API refuses, exactly as it checks them: qemu-server `current` and any case of
 * `pending`; pve-container `current` and `vzdump`, both case-sensitive. Anything else valid is a name
 * a snapshot can have, so a name seen on the hypervisor must be sent back as it is.
 */
function reserved(name: string, type: GuestType): boolean {
  if (name === 'current') return true;
  return type === 'qemu' ? name.toLowerCase() === 'pending' : name === 'vzdump';
}

export function isValidSnapname(name: string, type: GuestType = 'qemu'): boolean {
  return PVE_SNAPNAME.test(name) && !reserved(name, type);
}

/**
 * The Proxmox snapname for a module snapshot name. Generated names and every name listed by Proxmox
 * are valid and pass unchanged, so `list` reports the same names back and delete/restore reach the
 * snapshot that was listed. Any other name is mapped deterministically — readable part plus a hash,
 * so distinct names stay distinct — and then appears in `list` under the mapped name.
 */
export function toSnapname(name: string, type: GuestType = 'qemu'): string {
  if (isValidSnapname(name, type)) return name;
  const hash = createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 10);
  const readable = name.normalize('NFKD').replace(/\p{M}/gu, '').replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^[^A-Za-z]+/, '').slice(0, 28).replace(/-+$/, '');
  return `${readable || 's'}-${hash}`;
}
