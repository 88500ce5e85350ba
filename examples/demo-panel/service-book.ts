import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Actor, CloneReport, PanelService } from '../../module/index.js';
import { canSee, SERVICES } from './demo-data.js';

/** Where a service's disk came from, as the module last reported it (`onCloneProgress`, `cloneStatus`). */
export interface MadeFrom {
  sourceServiceId: string;
  snapshotName: string;
  status: CloneReport['status'];
  errorCode: string | null;
}

interface Provisioned {
  service: PanelService;
  madeFrom: MadeFrom | null;
}

interface BookFile {
  /** Never handed out twice, even after a refused order took its service back. */
  nextVmId: number;
  services: Provisioned[];
}

const FIRST_VM_ID = 401;
// A report never moves a clone back: 'running' may arrive before the provisioning hook's own 'queued' answer is recorded.
const STAGE: Record<CloneReport['status'], number> = { queued: 0, running: 1, succeeded: 2, failed: 2 };

/**
 * The demo's service records: the fixed demo services, plus the servers customers ordered, which are
 * kept in a JSON file next to the simulated hypervisor's state so they survive a restart the way the
 * hypervisor's guests do (without a file: memory only, for tests). A real panel has its own table.
 */
export function createServiceBook(opts: { file?: string | null } = {}) {
  const file = opts.file ?? null;
  const book: BookFile = file && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as BookFile : { nextVmId: FIRST_VM_ID, services: [] };

  function save(): void {
    if (!file) return;
    // Written whole, then renamed: a crash mid-write leaves the previous file, never half of one.
    writeFileSync(`${file}.tmp`, JSON.stringify(book, null, 2));
    renameSync(`${file}.tmp`, file);
  }

  const provisioned = (id: string) => book.services.find((p) => p.service.id === id) ?? null;
  const all = (): PanelService[] => [...SERVICES, ...book.services.map((p) => p.service)];
  // Copies, so nothing downstream can change the records.
  const copy = (s: PanelService): PanelService => ({ ...s, target: { ...s.target } });

  return {
    find(id: string): PanelService | null {
      const found = all().find((s) => s.id === id);
      return found ? copy(found) : null;
    },
    visibleTo(actor: Actor): PanelService[] {
      return all().filter((s) => canSee(actor, s)).map(copy);
    },
    madeFrom(id: string): MadeFrom | null {
      const m = provisioned(id)?.madeFrom;
      return m ? { ...m } : null;
    },
    /** A new active service on a new guest (the next free VM id) of `driver` on `node`. */
    provision(input: Pick<PanelService, 'name' | 'ownerId' | 'resellerId' | 'planId' | 'diskBytes'> & { driver: string; node: string; madeFrom: MadeFrom }): PanelService {
      const vmId = String(book.nextVmId++);
      const service: PanelService = {
        id: `vps-${vmId}`, name: input.name, ownerId: input.ownerId, resellerId: input.resellerId ?? null,
        planId: input.planId, diskBytes: input.diskBytes, status: 'active', target: { driver: input.driver, node: input.node, vmId },
      };
      book.services.push({ service, madeFrom: { ...input.madeFrom } });
      save();
      return copy(service);
    },
    /** Takes back a service the module refused to fill: nothing was made on it. */
    remove(id: string): void {
      book.services = book.services.filter((p) => p.service.id !== id);
      save();
    },
    /** Keeps the module's latest word on how a new server's disk is getting on. */
    recordClone(report: CloneReport): void {
      const p = provisioned(report.serviceId);
      if (!p?.madeFrom || STAGE[report.status] < STAGE[p.madeFrom.status]) return;
      if (p.madeFrom.status === report.status && p.madeFrom.errorCode === report.errorCode) return;
      p.madeFrom = { sourceServiceId: report.sourceServiceId, snapshotName: report.snapshotName, status: report.status, errorCode: report.errorCode };
      save();
    },
  };
}

export type ServiceBook = ReturnType<typeof createServiceBook>;
