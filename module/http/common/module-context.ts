import type { i18n } from 'i18next';
import type { Logger } from 'pino';
import type { SnapshotModuleConfig } from '../../config/options.js';
import type { PanelAdapter } from '../../config/panel-adapter.js';
import type { AllSnapshotsService } from '../../domain/all-snapshots.js';
import type { CloneService } from '../../domain/clone/clone-service.js';
import type { DomainDeps } from '../../domain/deps.js';
import type { LifecycleService } from '../../domain/lifecycle-service.js';
import type { ScheduleService } from '../../domain/schedule-service.js';
import type { ServiceDirectory } from '../../domain/service-directory.js';
import type { SnapshotService } from '../../domain/snapshot-service.js';
import type { Actor } from '../../domain/types.js';
import type { FormatterCache } from './formatters.js';
import type { PageCache } from './page-cache.js';

/** What every router gets: the domain services and the module's own infrastructure. */
export interface ModuleContext {
  deps: DomainDeps;
  snapshots: SnapshotService;
  lifecycle: LifecycleService;
  schedules: ScheduleService;
  /** Services as the module sees them (the panel's record with the module's state). */
  services: ServiceDirectory;
  /** The All snapshots page's reads; null when the panel has no `listServices` (the page answers 404). */
  allSnapshots: AllSnapshotsService | null;
  /** New servers from snapshots (offered when the panel has `orderServerFromSnapshot`). */
  clones: CloneService;
  panel: PanelAdapter;
  config: SnapshotModuleConfig;
  i18n: i18n;
  /** Date and size formatters per language and timezone (module/http/common/formatters.ts). */
  formatters: FormatterCache;
  /** Rendered bodies reused while the database says their data is unchanged (page-cache.ts). */
  pages: PageCache;
  logger: Logger;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by the module's actor middleware from `panel.getActor`. */
    snapshotActor?: Actor | null;
  }
}
