import type { NextFunction, Request, Response } from 'express';
import type { i18n as I18n, TFunction } from 'i18next';
import { remembered } from './bounded.js';

// Detected languages are supported codes ('ko', 'ko-KR', …), but region variants come from the
// request, so the per-language instances are bounded.
const LIMIT = 50;

interface Language {
  i18n: I18n;
  t: TFunction;
  exists: I18n['exists'];
  languages: readonly string[];
  dir: 'ltr' | 'rtl';
  header: string;
}

type Detector = { detect(req: Request, res: Response): string | undefined; cacheUserLanguage?(req: Request, res: Response, lng: string): void };
type I18nRequest = Request & { lng?: string; locale?: string; resolvedLanguage?: string };

/**
 * Gives each request what i18next-http-middleware's `handle` gives it — the language from the
 * instance's detector, `req.t`, `req.i18n`, `req.language(s)`, the same `res.locals` and a
 * Content-Language header — without its `cloneInstance` and `changeLanguage` on every request
 * (a tenth of a page's CPU). A request's instance only ever speaks its one language, so one clone
 * per language is built once and shared by every request in that language; nothing may change
 * its language. Every supported language is preloaded (createI18n), so unlike `handle` there is
 * nothing to load before `next`.
 */
export function i18nMiddleware(i18n: I18n) {
  const languages = new Map<string, Language>();
  const forLanguage = (lng: string): Language => {
    return remembered(languages, lng, LIMIT, () => {
      const clone = i18n.cloneInstance({ initAsync: false });
      clone.changeLanguage(lng);
      return {
        i18n: clone, t: clone.t.bind(clone) as TFunction, exists: clone.exists.bind(clone),
        languages: Object.freeze(i18n.services.languageUtils.toResolveHierarchy(lng)),
        dir: i18n.dir(lng), header: lng.replace(/[\r\n\x00-\x1F\x7F]/g, ''),
      };
    });
  };
  const fallback = (): string => {
    const f = i18n.options.fallbackLng;
    return Array.isArray(f) ? String(f[0]) : String(f);
  };

  return (request: Request, res: Response, next: NextFunction): void => {
    const req = request as I18nRequest;
    const detector = i18n.services.languageDetector as Detector | undefined;
    const lng = req.lng || detector?.detect(req, res) || fallback();
    const entry = forLanguage(lng);
    req.language = req.locale = req.lng = lng;
    req.languages = entry.languages as string[];
    req.resolvedLanguage = entry.i18n.resolvedLanguage;
    req.i18n = entry.i18n;
    req.t = entry.t;
    res.setHeader('Content-Language', entry.header);
    detector?.cacheUserLanguage?.(req, res, lng);
    Object.assign(res.locals, {
      t: entry.t, exists: entry.exists, i18n: entry.i18n, language: lng, resolvedLanguage: entry.i18n.resolvedLanguage, languageDir: entry.dir,
    });
    next();
  };
}
