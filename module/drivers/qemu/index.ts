export { qemuDriver, QemuDriver } from './qemu-driver.js';
export type { QemuDriverOptions, QemuVmConfig } from './options.js';
