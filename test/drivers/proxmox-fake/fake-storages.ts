/**
 * The fake cluster's storage configuration (GET /storage), with the options pve-storage 9.1.7 has;
 * the node's status list shows only storage and type.
 */
export const STORAGES: { storage: string; type: string; 'snapshot-as-volume-chain'?: 1 }[] = [
  { storage: 'local', type: 'dir' },
  { storage: 'local-lvm', type: 'lvmthin' },
  { storage: 'local-zfs', type: 'zfspool' },
  { storage: 'san-lvm', type: 'lvm' },
  // PVE 9: qcow2 volume chains on thick LVM and file storages; rollback only to the newest snapshot.
  { storage: 'san-chain', type: 'lvm', 'snapshot-as-volume-chain': 1 },
  { storage: 'nfs-chain', type: 'nfs', 'snapshot-as-volume-chain': 1 },
];
export const storageOf = (volume: string) => STORAGES.find((s) => s.storage === volume.split(':')[0]);
