/**
 * The fake cluster's storage configuration (GET /storage), with the options pve-storage 9.1.7 has;
 * the node's status list shows only storage and type.
 */
export interface FakeStorage {
  storage: string;
  type: string;
  'snapshot-as-volume-chain'?: 1;
  /** Set in storage.cfg; pve-storage also sets it for the types in @SHARED_STORAGE (Plugin.pm). */
  shared?: 1;
}

export const STORAGES: FakeStorage[] = [
  { storage: 'local', type: 'dir' },
  { storage: 'local-lvm', type: 'lvmthin' },
  { storage: 'local-zfs', type: 'zfspool' },
  { storage: 'local-btrfs', type: 'btrfs' },
  { storage: 'san-lvm', type: 'lvm', shared: 1 },
  // PVE 9: qcow2 volume chains on thick LVM and file storages; rollback only to the newest snapshot.
  { storage: 'san-chain', type: 'lvm', 'snapshot-as-volume-chain': 1, shared: 1 },
  { storage: 'nfs-chain', type: 'nfs', 'snapshot-as-volume-chain': 1 },
  { storage: 'ceph-rbd', type: 'rbd' },
];
/** The storage of a volume (`local-lvm:vm-100-disk-0`) or of a bare storage id. */
export const storageOf = (volume: string) => STORAGES.find((s) => s.storage === volume.split(':')[0]);

/** pve-storage 9.1.7 Plugin.pm @SHARED_STORAGE: types shared whatever storage.cfg says. */
const SHARED_TYPES = new Set(['iscsi', 'nfs', 'cifs', 'rbd', 'cephfs', 'iscsidirect', 'zfs', 'drbd', 'pbs']);
export const isShared = (s: FakeStorage) => s.shared === 1 || SHARED_TYPES.has(s.type);

/** pve-storage `copy` from a snapshot: thin LVM, RBD and btrfs copy any format; dir, NFS, CIFS and LVM only qcow2; ZFS and iSCSI nothing. */
export function copiesFromSnapshot(volume: string): boolean {
  const type = storageOf(volume)?.type ?? '';
  if (['lvmthin', 'rbd', 'btrfs'].includes(type)) return true;
  return ['dir', 'nfs', 'cifs', 'lvm'].includes(type) && volume.endsWith('.qcow2');
}
