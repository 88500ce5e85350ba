import type { Request } from 'express';
import type { SafetyNamer } from '../../domain/snapshot-service.js';
import type { ModuleContext } from './module-context.js';

/**
 * The safety snapshot is named in the requester's language and with their clock, like the name they
 * would have typed themselves: it is stored as it is written, and that person reads it in their list.
 */
export function safetyNamer(ctx: ModuleContext, req: Request): SafetyNamer {
  const fmt = ctx.formatters.get(req.language, req.snapshotActor?.timezone ?? ctx.config.defaultTimezone);
  return (name, at) => req.t('snapshots:restore.safety_name', { name, time: fmt.date(at) });
}
