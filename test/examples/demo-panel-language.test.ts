import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { atLoginPage, demoApp, loggedIn as loggedInAs } from './helpers/demo-app.js';

const loggedIn = async (user: string) => (await loggedInAs(user)).agent;

describe('demo panel pages speak the user\'s language', () => {
  it('shows the login page in the browser\'s language, ?lng first, English otherwise', async () => {
    const app = demoApp();
    const ko = await supertest(app).get('/login').set('Accept-Language', 'fr;q=0.9, ko-KR;q=0.8, en;q=0.5');
    expect(ko.text).toContain('<html lang="ko">');
    expect(ko.text).toContain('비밀번호');
    const ja = await supertest(app).get('/login?lng=ja').set('Accept-Language', 'ko');
    expect(ja.text).toContain('パスワード');
    const other = await supertest(app).get('/login').set('Accept-Language', 'de-DE');
    expect(other.text).toContain('<html lang="en">');
    expect(other.text).toContain('Password');
  });

  it('refuses a wrong password in the page\'s language', async () => {
    const { agent, token } = await atLoginPage();
    const res = await agent.post('/login').set('Accept-Language', 'ja').type('form').send({ _csrf: token, username: 'yuki', password: 'nope' });
    expect(res.status).toBe(401);
    expect(res.text).toContain('パスワードが正しくありません');
  });

  it('uses the logged-in user\'s locale over the browser\'s: services, overview and 404 in Korean', async () => {
    const agent = await loggedIn('minji');
    const list = await agent.get('/services').set('Accept-Language', 'en');
    expect(list.text).toContain('<html lang="ko">');
    expect(list.text).toContain('내 서비스');
    expect(list.text).toContain('사용 중');
    expect(list.text).not.toMatch(/>(Service|Hostname|Plan|Status|Active)</);
    const overview = await agent.get('/services/vps-201');
    expect(overview.text).toContain('노드 pve1, 가상 머신 201');
    const missing = await agent.get('/services/vps-101');
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('서비스를 찾을 수 없습니다');
  });

  it('keeps English for an English user, and localizes the outbox\'s refusal for a Japanese one', async () => {
    const alice = await loggedIn('alice');
    expect((await alice.get('/services').set('Accept-Language', 'ja')).text).toContain('Your services');
    const yuki = await loggedIn('yuki');
    const outbox = await yuki.get('/outbox');
    expect(outbox.status).toBe(403);
    expect(outbox.text).toContain('送信済み通知を閲覧できるのは管理者のみです');
  });
});
