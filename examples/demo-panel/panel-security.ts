import { doubleCsrf } from 'csrf-csrf';
import type { Request, RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * The panel's own pages are never meant to be framed (clickjacking on login and logout), so both
 * frame-ancestors 'none' and X-Frame-Options DENY, for browsers that only know the latter. HSTS and
 * upgrade-insecure-requests only behind HTTPS: on plain-HTTP localhost they would break the demo.
 */
function directives(https: boolean) {
  return {
    defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], imgSrc: ["'self'", 'data:'],
    formAction: ["'self'"], frameAncestors: ["'none'"], objectSrc: ["'none'"], baseUri: ["'self'"],
    upgradeInsecureRequests: https ? [] : null,
  };
}

export function securityHeaders(https: boolean): RequestHandler {
  return helmet({
    strictTransportSecurity: https ? { maxAge: 15552000 } : false,
    xFrameOptions: { action: 'deny' },
    contentSecurityPolicy: { directives: directives(https) },
  });
}

/**
 * The outbox previews mails in sandboxed srcdoc frames, which inherit the page's policy; the mails
 * carry inline style attributes (as mail must), so only that page allows them — scripts stay barred.
 */
export function mailPreviewPolicy(https: boolean): RequestHandler {
  return helmet.contentSecurityPolicy({ directives: { ...directives(https), styleSrcAttr: ["'unsafe-inline'"] } });
}

/**
 * Double-submit CSRF tokens for the panel's login and logout forms, the way the module protects its
 * own forms. A token is bound to the session (or to "anonymous" before login), so logging out or in
 * makes the old one worthless. Own cookie and secret: the module's tokens never pass here.
 */
export function panelCsrf(opts: { secret: string; https: boolean; sessionIdOf: (req: Request) => string | null }) {
  const { generateCsrfToken, doubleCsrfProtection } = doubleCsrf({
    getSecret: () => opts.secret,
    getSessionIdentifier: (req) => opts.sessionIdOf(req) ?? 'anonymous',
    cookieName: opts.https ? '__Host-demo.csrf' : 'demo.csrf',
    cookieOptions: { sameSite: 'strict', path: '/', secure: opts.https, httpOnly: true },
    getCsrfTokenFromRequest: (req) => {
      const token = (req.body as Record<string, unknown> | undefined)?._csrf;
      return typeof token === 'string' ? token : undefined;
    },
  });
  return {
    /** The token for this request's forms; the layout has only `req`, and express links it to `res`. */
    tokenFor: (req: Request): string => generateCsrfToken(req, req.res!),
    /** Checks the posted token; a missing or wrong one goes to `refuse` instead of the route. */
    verify: (refuse: RequestHandler): RequestHandler => (req, res, next) =>
      doubleCsrfProtection(req, res, (err?: unknown) => (err ? refuse(req, res, next) : next())),
  };
}

export type PanelCsrf = ReturnType<typeof panelCsrf>;
