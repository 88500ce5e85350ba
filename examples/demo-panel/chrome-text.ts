// The demo panel's own chrome around the module's pages, in the three languages the module speaks,
// so a Korean or Japanese page carries no English from the host either. (A real panel has its own
// translations; the module's text comes from the module.)
type Keys = 'brand' | 'services' | 'admin' | 'outbox' | 'logout' | 'overview' | 'panelNav' | 'serviceMenu' | 'customer' | 'reseller' | 'adminRole';
export type ChromeText = Record<Keys, string>;

const TEXT: Record<'en' | 'ko' | 'ja', ChromeText> = {
  en: { brand: 'Demo Hosting Panel', services: 'Services', admin: 'Snapshots admin', outbox: 'Outbox', logout: 'Log out', overview: 'Overview', panelNav: 'Panel', serviceMenu: 'Service menu', customer: 'Customer', reseller: 'Reseller', adminRole: 'Administrator' },
  ko: { brand: '데모 호스팅 패널', services: '서비스', admin: '스냅샷 관리', outbox: '발송함', logout: '로그아웃', overview: '개요', panelNav: '패널', serviceMenu: '서비스 메뉴', customer: '고객', reseller: '리셀러', adminRole: '관리자' },
  ja: { brand: 'デモ ホスティングパネル', services: 'サービス', admin: 'スナップショット管理', outbox: '送信済み通知', logout: 'ログアウト', overview: '概要', panelNav: 'パネル', serviceMenu: 'サービスメニュー', customer: 'お客様', reseller: 'リセラー', adminRole: '管理者' },
};

/** The chrome's words for a page language ('ko-KR' → ko); English for anything else. */
export function chromeText(lang: string | undefined): ChromeText {
  const base = (lang ?? 'en').slice(0, 2).toLowerCase();
  return base === 'ko' || base === 'ja' ? TEXT[base] : TEXT.en;
}
