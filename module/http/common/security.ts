import cookieParser from 'cookie-parser';
import { doubleCsrf } from 'csrf-csrf';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { SnapshotError } from '../../domain/errors.js';
import type { ModuleContext } from './module-context.js';

/** Body parsers sized for our forms; larger bodies are refused with a localized 413. */
export function bodyParsers(): express.RequestHandler[] {
  return [express.urlencoded({ extended: false, limit: '64kb' }), express.json({ limit: '64kb' })];
}

/**
 * Helmet with a CSP that allows no inline script: the pages' enhancement is one same-origin file.
 * HSTS and upgrade-insecure-requests only behind HTTPS (`secureCookies`): a plugin must not pin a
 * plain-HTTP panel to HTTPS for a year.
 */
export function securityHeaders(ctx: ModuleContext): express.RequestHandler {
  if (!ctx.config.securityHeaders) return (_req, _res, next) => next();
  const https = ctx.config.secureCookies;
  return helmet({
    strictTransportSecurity: https ? { maxAge: 15552000 } : false,
    contentSecurityPolicy: {
      directives: {
        upgradeInsecureRequests: https ? [] : null,
        defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"], frameAncestors: ["'self'"], objectSrc: ["'none'"], baseUri: ["'self'"],
      },
    },
  });
}

export class CsrfError extends SnapshotError {
  constructor() {
    super('csrf_invalid', 403);
  }
}

/**
 * Double-submit CSRF protection bound to the acting user: every state-changing form carries the
 * token, and a token minted for one user is worthless for another.
 */
export function csrfProtection(ctx: ModuleContext): { issue: express.RequestHandler; verify: express.RequestHandler; router: Router } {
  const { generateCsrfToken, doubleCsrfProtection } = doubleCsrf({
    getSecret: () => ctx.config.csrfSecret,
    getSessionIdentifier: (req) => req.snapshotActor?.id ?? 'anonymous',
    cookieName: ctx.config.secureCookies ? '__Host-snapshots.csrf' : 'snapshots.csrf',
    cookieOptions: { sameSite: 'strict', path: '/', secure: ctx.config.secureCookies, httpOnly: true },
    getCsrfTokenFromRequest: (req) => (req.body as Record<string, string> | undefined)?._csrf ?? req.get('x-csrf-token'),
  });
  const router = express.Router();
  router.use(cookieParser());
  return {
    router,
    issue: (req, res, next) => {
      res.locals.snapshotCsrf = generateCsrfToken(req, res);
      next();
    },
    verify: (req, res, next) => doubleCsrfProtection(req, res, (err?: unknown) => next(err ? new CsrfError() : undefined)),
  };
}

/** Per-actor rate limit on expensive actions (create, restore); answers with a localized 429. */
export function actionRateLimit(limit: number, windowMs = 60_000): express.RequestHandler {
  return rateLimit({
    windowMs,
    limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req: Request) => (req.snapshotActor ? `actor:${req.snapshotActor.id}` : `ip:${ipKeyGenerator(req.ip ?? '')}`),
    handler: (_req: Request, _res: Response, next: NextFunction) => next(new SnapshotError('rate_limited', 429, { seconds: Math.ceil(windowMs / 1000) })),
  });
}
