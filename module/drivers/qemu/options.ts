import { z } from 'zod';
import { DriverError, type HypervisorTarget } from '../contract.js';

/** Where one VM's QEMU lives: its QMP socket (when it runs) and its qcow2 disks. */
export const qemuVmSchema = z.object({
  /** QMP unix socket (`-qmp unix:PATH,server=on,wait=off`). Absent or not answering: the VM is stopped. */
  qmpSocket: z.string().min(1).optional(),
  /** qcow2 image paths, as given to QEMU's `-drive file=` (absolute paths recommended). */
  disks: z.array(z.string().min(1)).min(1),
  /** The disk that receives the memory state; defaults to the first disk. */
  vmstateDisk: z.string().min(1).optional(),
  /** JSON file for descriptions and disk-only marks; default `<vmstateDisk>.snapshots.json`. */
  metadataFile: z.string().min(1).optional(),
}).refine((v) => !v.vmstateDisk || v.disks.includes(v.vmstateDisk), { message: 'vmstateDisk must be one of disks', path: ['vmstateDisk'] });

export type QemuVmConfig = z.input<typeof qemuVmSchema>;
export type QemuVm = z.output<typeof qemuVmSchema> & { vmstateDisk: string; metadataFile: string };

export const qemuDriverOptionsSchema = z.object({
  /** Driver name services refer to in `target.driver`; default `qemu`. */
  name: z.string().min(1).default('qemu'),
  /** Static map: key `node/vmId` (or just `vmId`) → VM. */
  vms: z.record(z.string(), z.unknown()).default({}),
  /** Dynamic lookup, asked first; return null to fall back to `vms`. */
  resolve: z.custom<(target: HypervisorTarget) => QemuVmConfig | null | Promise<QemuVmConfig | null>>(
    (v) => v === undefined || typeof v === 'function', 'resolve must be a function',
  ).optional(),
  /** qemu-img binary; default from PATH. */
  qemuImg: z.string().min(1).optional(),
  /** Limit for one qemu-img call or one QMP answer. */
  commandTimeoutMs: z.number().int().positive().default(120_000),
});

export type QemuDriverOptions = z.input<typeof qemuDriverOptionsSchema>;
export type ParsedQemuDriverOptions = z.output<typeof qemuDriverOptionsSchema>;

/** The VM behind a service, validated; a target nobody configured is `rejected` (a setup error). */
export async function resolveVm(options: ParsedQemuDriverOptions, target: HypervisorTarget): Promise<QemuVm> {
  const raw = (await options.resolve?.(target)) ?? options.vms[`${target.node}/${target.vmId}`] ?? options.vms[target.vmId];
  if (!raw) throw new DriverError('rejected', `no QEMU VM configured for ${target.node}/${target.vmId}`);
  const parsed = qemuVmSchema.safeParse(raw);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ');
    throw new DriverError('rejected', `invalid QEMU VM config for ${target.node}/${target.vmId}: ${why}`);
  }
  const vmstateDisk = parsed.data.vmstateDisk ?? parsed.data.disks[0]!;
  return { ...parsed.data, vmstateDisk, metadataFile: parsed.data.metadataFile ?? `${vmstateDisk}.snapshots.json` };
}
