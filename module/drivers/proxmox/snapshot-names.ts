import { createHash } from 'node:crypto';

/** Proxmox's `pve-snapshot-name`: a letter, then letters, digits, `_` or `-`; at most 40 in all. */
const PVE_SNAPNAME = /^[A-Za-z][A-Za-z0-9_-]{1,39}$/;
/** Names Proxmox uses itself: the list's "You are here" entry, pending changes, backups. */
const RESERVED = new Set(['current', 'pending', 'vzdump']);

export function isValidSnapname(name: string): boolean {
  return PVE_SNAPNAME.test(name) && !RESERVED.has(name.toLowerCase());
}

/**
 * The Proxmox snapname for a module snapshot name. The module's generated names (prefix, timestamp,
 * random suffix) are valid already and pass unchanged, so `list` reports the same names back. Any
 * other name is mapped deterministically — readable part plus a hash, so distinct names stay
 * distinct — and then appears in `list` under the mapped name.
 */
export function toSnapname(name: string): string {
  if (isValidSnapname(name)) return name;
  const hash = createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 10);
  const readable = name.normalize('NFKD').replace(/\p{M}/gu, '').replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^[^A-Za-z]+/, '').slice(0, 28).replace(/-+$/, '');
  return `${readable || 's'}-${hash}`;
}
