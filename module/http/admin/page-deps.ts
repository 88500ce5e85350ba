import type { Request, RequestHandler, Response } from 'express';
import type { AdminLimitsService } from '../../domain/admin-limits.js';
import type { AdminSnapshotService } from '../../domain/admin-service.js';
import type { SnapshotError } from '../../domain/errors.js';
import type { AdminQueries } from '../../db/admin-queries.js';
import type { SchedulerHealthPort } from '../../scheduler/health.js';

/** What every admin page module gets from the admin router. */
export interface AdminPageDeps {
  limits: AdminLimitsService;
  actions: AdminSnapshotService;
  queries: AdminQueries;
  health: SchedulerHealthPort;
  csrf: { issue: RequestHandler };
  /** Body parsing and CSRF check of every state-changing form, then a fresh token for a re-rendered form. */
  post: RequestHandler[];
  /** Runs a form handler; a refusal (4xx other than 401/404) re-renders the form with the message. */
  formAction(handler: (req: Request, res: Response) => Promise<void>, rerender: (req: Request, res: Response, e: SnapshotError) => Promise<void>): RequestHandler;
}
