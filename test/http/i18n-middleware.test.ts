import cookieParser from 'cookie-parser';
import express, { type RequestHandler } from 'express';
import { handle } from 'i18next-http-middleware';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { i18nMiddleware } from '../../module/http/common/i18n-middleware.js';
import { createI18n, LANGUAGE_COOKIE } from '../../module/i18n/i18n.js';

const i18n = await createI18n('en');

/** An app reporting what the i18n middleware gave the request. */
function app(middleware: RequestHandler) {
  const a = express();
  a.use(cookieParser());
  a.use((req, _res, next) => {
    const locale = req.get('x-user-locale');
    req.snapshotActor = locale ? { id: 'u', role: 'customer', locale } : null;
    next();
  });
  a.use(middleware);
  a.get('/', (req, res) => {
    const r = req as typeof req & { lng?: string; locale?: string; resolvedLanguage?: string };
    res.json({
      language: r.language, lng: r.lng, locale: r.locale, languages: r.languages, resolvedLanguage: r.resolvedLanguage,
      title: r.t('snapshots:title'), quota: r.t('snapshots:quota', { limit: 3, left: 1 }), iLanguage: r.i18n.language,
      exists: r.i18n.exists('snapshots:title'), locals: Object.keys(res.locals).sort(), localsT: res.locals.t('snapshots:title'),
      localsLanguage: res.locals.language, dir: res.locals.languageDir,
    });
  });
  return a;
}

const CASES: [string, Record<string, string>][] = [
  ['/', {}],
  ['/?lng=ko', {}],
  ['/?lng=ja-JP', { 'accept-language': 'ko' }],
  ['/', { 'accept-language': 'ko-KR,ko;q=0.9' }],
  ['/', { 'accept-language': 'fr' }],
  ['/?lng=xx', {}],
  ['/', { cookie: `${LANGUAGE_COOKIE}=ja` }],
  ['/?lng=ko', { 'x-user-locale': 'ja' }],
  ['/', { 'x-user-locale': 'ko-KR' }],
];

describe('the i18n middleware gives requests what i18next-http-middleware does, with one instance per language', () => {
  it('detects the same language and answers the same for every source of it', async () => {
    const ours = app(i18nMiddleware(i18n));
    const theirs = app(handle(i18n));
    for (const [path, headers] of CASES) {
      const [a, b] = await Promise.all([supertest(ours).get(path).set(headers), supertest(theirs).get(path).set(headers)]);
      expect(a.status, path).toBe(200);
      expect(a.body, `${path} ${JSON.stringify(headers)}`).toEqual(b.body);
      expect(a.headers['content-language'], path).toBe(b.headers['content-language']);
    }
  });

  it('keeps each language apart across interleaved requests', async () => {
    const ours = app(i18nMiddleware(i18n));
    const langs = ['en', 'ko', 'ja', 'ko-KR', 'en', 'ja', 'ko'];
    const answers = await Promise.all(langs.map((l) => supertest(ours).get(`/?lng=${l}`)));
    const titles = answers.map((r) => r.body.title as string);
    expect(new Set([titles[0], titles[1], titles[2]]).size).toBe(3);
    expect(titles).toEqual(langs.map((l) => i18n.getFixedT(l)('snapshots:title')));
    expect(answers.map((r) => r.body.iLanguage)).toEqual(langs);
  });
});
