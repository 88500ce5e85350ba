import type { BillingHooks } from './billing/billing-hooks.js';
import type { CreateInput } from './domain/create-snapshot.js';
import type { ActionContext } from './domain/deps.js';
import type { DeleteInput, RestoreInput } from './domain/snapshot-service.js';
import type { Actor, PanelService, Schedule, Snapshot } from './domain/types.js';
import type { ReconcileSummary } from './scheduler/reconcile.js';
import type { RunResult } from './scheduler/run-schedule.js';
import type { ModuleRouters } from './wiring/routers.js';

/** The Snapshots entry of a service page's menu. */
export interface MenuItem {
  label: string;
  href: string;
}

/** What a snapshot edit may change (the hypervisor-side name never changes). */
export interface EditInput {
  name?: unknown;
  description?: unknown;
}

/**
 * A service's snapshot actions for panels that call the module directly rather than through HTTP.
 * Each checks the same rules as the pages and the API (authorization is the caller's: pass a
 * service the acting user may act on) and throws the same typed errors (SnapshotError and its kin).
 */
export interface SnapshotCommands {
  get(service: PanelService, id: number): Promise<Snapshot>;
  create(service: PanelService, input: CreateInput, ctx: ActionContext): Promise<Snapshot>;
  setPinned(service: PanelService, id: number, pinned: boolean, ctx: ActionContext): Promise<Snapshot>;
  edit(service: PanelService, id: number, input: EditInput, ctx: ActionContext): Promise<Snapshot>;
  delete(service: PanelService, id: number, input: DeleteInput, ctx: ActionContext): Promise<Snapshot>;
  restore(service: PanelService, id: number, input: RestoreInput, ctx: ActionContext): Promise<{ snapshot: Snapshot; safety: Snapshot | null }>;
}

/** A service's weekly schedules; `raw` is validated as the schedule form and API are. */
export interface ScheduleCommands {
  list(service: PanelService): Promise<{ schedule: Schedule; nextRun: Date | null }[]>;
  get(service: PanelService, id: number): Promise<Schedule>;
  create(service: PanelService, raw: Record<string, unknown>, ctx: ActionContext): Promise<Schedule>;
  update(service: PanelService, id: number, raw: Record<string, unknown>, ctx: ActionContext): Promise<Schedule>;
  setEnabled(service: PanelService, id: number, enabled: boolean, ctx: ActionContext): Promise<Schedule>;
  remove(service: PanelService, id: number, ctx: ActionContext): Promise<void>;
}

/**
 * The module as a panel sees it: what `createSnapshotModule` returns. This is the whole public
 * surface; anything else is internal and may change. `docs/public-api.md` lists it, and a test
 * fails when the two part.
 */
export interface SnapshotModule {
  /** Express routers, each mounted at the host's root: client pages, admin pages, JSON API, billing webhook. */
  routers: ModuleRouters;
  /** In-process billing hooks: plan change (before/after), suspend, unsuspend, terminate, storage expansion. */
  hooks: BillingHooks;
  /** The Snapshots entry for a service page's menu, or null when the actor may not see it. */
  menuItem(service: PanelService, actor: Actor): MenuItem | null;
  /** The All snapshots entry for the panel's own navigation, or null when the panel has no `listServices`. */
  allSnapshotsItem(actor: Actor): MenuItem | null;
  snapshots: SnapshotCommands;
  schedules: ScheduleCommands;
  /**
   * A refusal the module threw (a SnapshotError, from a hook or a command) as the user should read it:
   * its stable code, HTTP status and message in `locale` (en, ko, ja; default: the module's). Null for
   * anything else (a bug, not a refusal).
   */
  describeError(err: unknown, locale?: string): { code: string; status: number; message: string } | null;
  /** Compares hypervisor snapshots with the records now (the scheduler does it periodically). */
  reconcile(): Promise<ReconcileSummary[]>;
  /** Runs one occurrence of a schedule now (what the scheduler does at the schedule's time). */
  runSchedule(scheduleId: number, at?: Date): Promise<RunResult>;
  /** Creates or updates the module's tables (knex migrations in their own bookkeeping table). */
  migrate(): Promise<void>;
  /** Starts the operation runner and, where enabled, the schedules. Call after migrate(). */
  start(): Promise<void>;
  /** Stops taking work; running operations go back to the queue or, with `drain`, are waited for. */
  stop(options?: { drain?: boolean }): Promise<void>;
}
