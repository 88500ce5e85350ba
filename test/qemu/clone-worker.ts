// A panel process of its own for qemu-clone-restart.test.ts, which kills it mid-clone: it starts one
// clone, sends the task reference over IPC and waits to be killed.
import type { HypervisorTarget } from '../../module/drivers/contract.js';
import { qemuDriver, type QemuDriverOptions } from '../../module/drivers/qemu/index.js';

const spec = JSON.parse(process.argv[2]!) as { options: QemuDriverOptions; source: HypervisorTarget; dest: HypervisorTarget; name: string };
const ref = await qemuDriver(spec.options).clone!(spec.source, spec.name, spec.dest);
process.send!(ref);
setInterval(() => undefined, 60_000);
