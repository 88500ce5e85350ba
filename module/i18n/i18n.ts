import { fileURLToPath } from 'node:url';
import i18next, { type i18n } from 'i18next';
import FsBackend from 'i18next-fs-backend';
import { LanguageDetector } from 'i18next-http-middleware';
import { SUPPORTED_LOCALES, type Locale } from '../config/options.js';

export const NAMESPACES = ['common', 'snapshots', 'errors', 'notifications', 'admin', 'schedules', 'activity', 'billing'] as const;
export const LOCALES_DIR = fileURLToPath(new URL('../../locales', import.meta.url));
export const LANGUAGE_COOKIE = 'snapshots_lng';

/**
 * A private i18next instance (never the global one, which the host panel may use for itself) with
 * every language loaded up front, so `t` is synchronous afterwards.
 */
export async function createI18n(defaultLocale: Locale): Promise<i18n> {
  const instance = i18next.createInstance();
  const detector = new LanguageDetector();
  // The panel's user preference wins over ?lng, the cookie and Accept-Language.
  detector.addDetector({
    name: 'panelUser',
    lookup: (req: unknown) => (req as { snapshotActor?: { locale?: string } }).snapshotActor?.locale,
  });
  await instance.use(FsBackend).use(detector).init({
    backend: { loadPath: `${LOCALES_DIR}/{{lng}}/{{ns}}.json` },
    supportedLngs: [...SUPPORTED_LOCALES],
    nonExplicitSupportedLngs: true,
    load: 'languageOnly',
    preload: [...SUPPORTED_LOCALES],
    fallbackLng: defaultLocale,
    ns: [...NAMESPACES],
    defaultNS: 'common',
    interpolation: { escapeValue: false }, // EJS escapes on output
    returnNull: false,
    detection: {
      order: ['panelUser', 'querystring', 'cookie', 'header'],
      lookupQuerystring: 'lng',
      lookupCookie: LANGUAGE_COOKIE,
      caches: false,
    },
  });
  return instance;
}

/** Normalizes any tag ('ko-KR', 'ja_JP') to a supported language, or null. */
export function supportedLocale(tag: string | undefined | null): Locale | null {
  const base = (tag ?? '').toLowerCase().split(/[-_]/)[0];
  return (SUPPORTED_LOCALES as readonly string[]).includes(base ?? '') ? (base as Locale) : null;
}
