import type {
  CreateSnapshotInput, DriverCapabilities, DriverTaskRef, HypervisorSnapshot, HypervisorTarget, SnapshotDriver, TaskState,
} from '../../module/drivers/contract.js';

type Method = 'capabilities' | 'list' | 'create' | 'delete' | 'restore' | 'taskStatus';

/** Wraps a driver and records every call, so a test can say "this instance never started a create". */
export class CountingDriver implements SnapshotDriver {
  readonly calls: { method: Method; args: unknown[] }[] = [];
  constructor(readonly inner: SnapshotDriver) {}

  get name(): string {
    return this.inner.name;
  }

  get simulated(): boolean {
    return this.inner.simulated;
  }

  count(method: Method): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  capabilities(target: HypervisorTarget): Promise<DriverCapabilities> {
    this.calls.push({ method: 'capabilities', args: [target] });
    return this.inner.capabilities(target);
  }

  list(target: HypervisorTarget): Promise<HypervisorSnapshot[]> {
    this.calls.push({ method: 'list', args: [target] });
    return this.inner.list(target);
  }

  create(target: HypervisorTarget, input: CreateSnapshotInput): Promise<DriverTaskRef> {
    this.calls.push({ method: 'create', args: [target, input] });
    return this.inner.create(target, input);
  }

  delete(target: HypervisorTarget, name: string): Promise<DriverTaskRef> {
    this.calls.push({ method: 'delete', args: [target, name] });
    return this.inner.delete(target, name);
  }

  restore(target: HypervisorTarget, name: string, options: { startAfter: boolean }): Promise<DriverTaskRef> {
    this.calls.push({ method: 'restore', args: [target, name, options] });
    return this.inner.restore(target, name, options);
  }

  taskStatus(target: HypervisorTarget, task: DriverTaskRef): Promise<TaskState> {
    this.calls.push({ method: 'taskStatus', args: [target, task] });
    return this.inner.taskStatus(target, task);
  }
}
