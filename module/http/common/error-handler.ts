import type { ErrorRequestHandler, Request } from 'express';
import { translateDbError } from '../../db/db-errors.js';
import { SnapshotError, ValidationError, isSnapshotError } from '../../domain/errors.js';
import { renderPage } from './render.js';
import type { ModuleContext } from './module-context.js';

const BODY_ERRORS: Record<string, [string, number]> = {
  'entity.too.large': ['payload_too_large', 413],
  'parameters.too.many': ['payload_too_large', 413],
  'entity.parse.failed': ['invalid_json', 400],
  'charset.unsupported': ['invalid_body', 415],
  'encoding.unsupported': ['invalid_body', 415],
};

/** Turns anything thrown into a SnapshotError; unknown errors become a logged generic 500. */
export function toSnapshotError(ctx: ModuleContext, err: unknown): SnapshotError {
  const translated = translateDbError(err);
  if (isSnapshotError(translated)) return translated;
  const bodyError = BODY_ERRORS[(err as { type?: string })?.type ?? ''];
  if (bodyError) return new SnapshotError(bodyError[0], bodyError[1]);
  // The router could not percent-decode a path parameter (`/snapshots/%C3%28`): the address names nothing.
  if (err instanceof URIError && (err as { status?: number }).status === 400) return new SnapshotError('route_not_found', 404);
  // Any other 400 of the body parsers (http-errors marks them `expose`): a body that does not match
  // its Content-Encoding, or ends before its Content-Length.
  const http = err as { status?: number; expose?: boolean } | null;
  if (http?.expose === true && http.status === 400) return new SnapshotError('invalid_body', 400);
  ctx.logger.error({ err }, 'snapshot module: unexpected error');
  return new SnapshotError('internal_error', 500);
}

/** The JSON shape of every API error: a stable code, a localized message, per-field errors. */
export function errorJson(req: Request, e: SnapshotError) {
  const fields = e instanceof ValidationError
    ? Object.fromEntries(Object.entries(e.fields).map(([k, v]) => [k, { code: v.code, message: req.t(`errors:${v.code}`, v.params ?? {}) }]))
    : undefined;
  return { error: { code: e.code, message: req.t(e.i18nKey, e.params), ...(fields ? { fields } : {}) } };
}

export function wantsJson(req: Request): boolean {
  return req.originalUrl.includes('/api/') || (!!req.get('accept')?.includes('application/json') && !req.accepts('html'));
}

/** The one error handler: localized HTML page or JSON, never a stack trace. */
export function errorHandler(ctx: ModuleContext): ErrorRequestHandler {
  return async (err, req, res, _next) => {
    const e = toSnapshotError(ctx, err);
    if (!req.t) req.t = ctx.i18n.getFixedT(ctx.config.defaultLocale) as Request['t'];
    if (wantsJson(req) || !req.snapshotActor) {
      if (!wantsJson(req) && e.status === 401 && ctx.panel.loginUrl) return res.redirect(ctx.panel.loginUrl(req));
      return res.status(e.status).json(errorJson(req, e));
    }
    // A refusal is not a malfunction: it gets its own heading and says what to do instead.
    const title = e.status === 403 ? req.t('common:forbidden_title') : req.t('common:error_title');
    try {
      await renderPage(ctx, req, res, 'error', { message: req.t(e.i18nKey, e.params), code: e.code, status: e.status, title },
        { title, status: e.status });
    } catch (renderErr) {
      ctx.logger.error({ err: renderErr }, 'snapshot module: error page failed');
      res.status(e.status).type('text').send(req.t(e.i18nKey, e.params));
    }
  };
}
