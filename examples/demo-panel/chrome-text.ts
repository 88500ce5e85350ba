// The demo panel's own words — chrome, login, services, overview, outbox, error pages — in the three
// languages the module speaks, so a Korean or Japanese page carries no English from the host either.
// (A real panel has its own translations; the module's text comes from the module.)
import type { Request } from 'express';
import type { Actor, PanelService } from '../../module/index.js';

export type Lang = 'en' | 'ko' | 'ja';

const en = {
  brand: 'Demo Hosting Panel', services: 'Services', admin: 'Snapshots admin', outbox: 'Outbox', logout: 'Log out',
  overview: 'Overview', panelNav: 'Panel', serviceMenu: 'Service menu',
  customer: 'Customer', reseller: 'Reseller', adminRole: 'Administrator',
  lang_en: 'English', lang_ko: 'Korean', lang_ja: 'Japanese',
  // Login
  loginTitle: 'Log in', username: 'Username', password: 'Password', loginButton: 'Log in',
  loginFailed: 'Unknown user or wrong password.', demoLogins: 'Demo logins',
  loginRateLimited: 'Too many failed logins. Please wait {minutes} min and try again.',
  formExpired: 'This form has expired or was not sent from this panel. Please try again.',
  demoPassword: 'Every demo user\'s password is {password}.', quickLogin: 'Log in as {name}',
  // Services and the service overview
  servicesTitle: 'Your services', colService: 'Service', colHostname: 'Hostname', colPlan: 'Plan', colOwner: 'Owner',
  colStatus: 'Status', noServices: 'No services.',
  status_active: 'Active', status_suspended: 'Suspended', status_terminated: 'Terminated',
  serviceId: 'Service ID', disk: 'Disk', location: 'Location', locationValue: 'node {node}, VM {vm}',
  serviceNotFound: 'Service not found', serviceNotFoundBody: 'There is no such service, or it is not yours.',
  backToServices: 'Back to your services',
  // Outbox
  outboxIntro: 'Notifications the snapshot module asked the panel to send (newest first, last 200, kept in memory).',
  colTime: 'Time', colType: 'Type', colRecipient: 'Recipient', colLanguage: 'Language', colSubject: 'Subject', colBody: 'Body',
  outboxEmpty: 'Nothing sent yet.', forbidden: 'Forbidden', forbiddenBody: 'Only administrators can read the outbox.',
  // Errors
  notFound: 'Not found', pageNotFound: 'Page not found', backToPanel: 'Back to the panel',
  errorTitle: 'Error', errorHeading: 'Something went wrong', errorBody: 'Please try again.',
};

export type ChromeText = typeof en;

const ko: ChromeText = {
  brand: '데모 호스팅 패널', services: '서비스', admin: '스냅샷 관리', outbox: '발송함', logout: '로그아웃',
  overview: '개요', panelNav: '패널', serviceMenu: '서비스 메뉴',
  customer: '고객', reseller: '리셀러', adminRole: '관리자',
  lang_en: '영어', lang_ko: '한국어', lang_ja: '일본어',
  loginTitle: '로그인', username: '사용자 이름', password: '비밀번호', loginButton: '로그인',
  loginFailed: '사용자가 없거나 비밀번호가 올바르지 않습니다.', demoLogins: '데모 계정',
  loginRateLimited: '로그인에 너무 많이 실패했습니다. {minutes}분 후에 다시 시도해 주세요.',
  formExpired: '이 양식은 만료되었거나 이 패널에서 보낸 것이 아닙니다. 다시 시도해 주세요.',
  demoPassword: '모든 데모 계정의 비밀번호는 {password}입니다.', quickLogin: '{name}(으)로 로그인',
  servicesTitle: '내 서비스', colService: '서비스', colHostname: '호스트 이름', colPlan: '요금제', colOwner: '소유자',
  colStatus: '상태', noServices: '서비스가 없습니다.',
  status_active: '사용 중', status_suspended: '일시 정지됨', status_terminated: '해지됨',
  serviceId: '서비스 ID', disk: '디스크', location: '위치', locationValue: '노드 {node}, 가상 머신 {vm}',
  serviceNotFound: '서비스를 찾을 수 없습니다', serviceNotFoundBody: '존재하지 않는 서비스이거나 내 서비스가 아닙니다.',
  backToServices: '내 서비스로 돌아가기',
  outboxIntro: '스냅샷 모듈이 패널에 발송을 요청한 알림입니다(최신순, 최근 200건, 메모리에만 보관).',
  colTime: '시각', colType: '유형', colRecipient: '받는 사람', colLanguage: '언어', colSubject: '제목', colBody: '본문',
  outboxEmpty: '아직 발송된 알림이 없습니다.', forbidden: '접근 권한 없음', forbiddenBody: '발송함은 관리자만 볼 수 있습니다.',
  notFound: '찾을 수 없음', pageNotFound: '페이지를 찾을 수 없습니다', backToPanel: '패널로 돌아가기',
  errorTitle: '오류', errorHeading: '문제가 발생했습니다', errorBody: '잠시 후 다시 시도해 주세요.',
};

const ja: ChromeText = {
  brand: 'デモ ホスティングパネル', services: 'サービス', admin: 'スナップショット管理', outbox: '送信済み通知', logout: 'ログアウト',
  overview: '概要', panelNav: 'パネル', serviceMenu: 'サービスメニュー',
  customer: 'お客様', reseller: 'リセラー', adminRole: '管理者',
  lang_en: '英語', lang_ko: '韓国語', lang_ja: '日本語',
  loginTitle: 'ログイン', username: 'ユーザー名', password: 'パスワード', loginButton: 'ログイン',
  loginFailed: 'ユーザーが存在しないか、パスワードが正しくありません。', demoLogins: 'デモ用アカウント',
  loginRateLimited: 'ログインの失敗が多すぎます。{minutes} 分後にもう一度お試しください。',
  formExpired: 'このフォームは有効期限が切れているか、このパネルから送信されたものではありません。もう一度お試しください。',
  demoPassword: 'デモ用アカウントのパスワードはすべて {password} です。', quickLogin: '{name} としてログイン',
  servicesTitle: 'ご契約中のサービス', colService: 'サービス', colHostname: 'ホスト名', colPlan: 'プラン', colOwner: '契約者',
  colStatus: '状態', noServices: 'サービスはありません。',
  status_active: '稼働中', status_suspended: '一時停止中', status_terminated: '解約済み',
  serviceId: 'サービス ID', disk: 'ディスク', location: '設置場所', locationValue: 'ノード {node}、仮想マシン {vm}',
  serviceNotFound: 'サービスが見つかりません', serviceNotFoundBody: 'このサービスは存在しないか、お客様のサービスではありません。',
  backToServices: 'サービス一覧に戻る',
  outboxIntro: 'スナップショットモジュールがパネルに送信を依頼した通知です（新しい順、最新 200 件、メモリ上のみに保持）。',
  colTime: '日時', colType: '種類', colRecipient: '宛先', colLanguage: '言語', colSubject: '件名', colBody: '本文',
  outboxEmpty: 'まだ送信された通知はありません。', forbidden: 'アクセス権がありません', forbiddenBody: '送信済み通知を閲覧できるのは管理者のみです。',
  notFound: '見つかりません', pageNotFound: 'ページが見つかりません', backToPanel: 'パネルに戻る',
  errorTitle: 'エラー', errorHeading: '問題が発生しました', errorBody: 'しばらくしてからもう一度お試しください。',
};

const TEXT: Record<Lang, ChromeText> = { en, ko, ja };

/** 'ko-KR', 'ja_JP', 'en' → a language the demo speaks, or null. */
function supported(tag: string | undefined | null): Lang | null {
  const base = (tag ?? '').trim().toLowerCase().split(/[-_]/)[0];
  return base === 'en' || base === 'ko' || base === 'ja' ? base : null;
}

/** A language tag as the demo speaks it ('ko-KR' → ko); English for anything else. */
export function langOf(tag: string | undefined | null): Lang {
  return supported(tag) ?? 'en';
}

/** The chrome's words for a page language ('ko-KR' → ko); English for anything else. */
export function chromeText(lang: string | undefined): ChromeText {
  return TEXT[langOf(lang)];
}

/**
 * The language of a panel page: the logged-in user's, else `?lng`, else the browser's first
 * supported Accept-Language entry (the login page has no user yet). Same order as the module's.
 */
export function pageLanguage(req: Request, actor: Actor | null): Lang {
  const fromUser = supported(actor?.locale);
  if (fromUser) return fromUser;
  const fromQuery = typeof req.query.lng === 'string' ? supported(req.query.lng) : null;
  if (fromQuery) return fromQuery;
  const accepted = (req.headers['accept-language'] ?? '').split(',')
    .map((part) => { const [tag, q] = part.trim().split(';q='); return { tag, q: q === undefined ? 1 : Number(q) }; })
    .filter((e) => e.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const { tag } of accepted) {
    const lang = supported(tag);
    if (lang) return lang;
  }
  return 'en';
}

/** Fills `{name}` placeholders. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (m, key: string) => (key in values ? String(values[key]) : m));
}

export function roleLabel(text: ChromeText, role: Actor['role']): string {
  return { customer: text.customer, reseller: text.reseller, admin: text.adminRole }[role];
}

export function statusLabel(text: ChromeText, status: PanelService['status']): string {
  return text[`status_${status}`] ?? status;
}

export function languageName(text: ChromeText, locale: string | undefined): string {
  const lang = supported(locale);
  return lang ? text[`lang_${lang}`] : (locale ?? '');
}

/** A disk size as the panel's plans name it: whole GiB where it is one. */
export function formatBytes(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  return gib >= 1 ? `${Number.isInteger(gib) ? gib : gib.toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;
}
