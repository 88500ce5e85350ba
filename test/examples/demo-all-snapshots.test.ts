import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { findService, findUser, toActor } from '../../examples/demo-panel/demo-data.js';
import { createLayout } from '../../examples/demo-panel/layout.js';
import { createPanelAdapter } from '../../examples/demo-panel/panel-adapter.js';
import type { Actor, SnapshotModule } from '../../module/index.js';

const actor = (id: string) => toActor(findUser(id)!);
const req = (url: string) => ({ originalUrl: url, query: {}, headers: {} }) as unknown as Request;

describe('the demo panel offers All snapshots', () => {
  it('lists the services each demo user may see', async () => {
    const panel = createPanelAdapter({ actorOf: () => null, layout: () => '' });
    const ids = async (id: string) => (await panel.listServices!(actor(id))).map((s) => s.id);
    expect(await ids('alice')).toEqual(['vps-101', 'vps-102']);
    expect(await ids('hostco')).toEqual(['vps-301', 'vps-302']);
    expect(await ids('minji')).toEqual(['vps-201']);
  });

  it('links it from the top bar and the service menu with the module\'s label, and not without it', () => {
    const module = {
      menuItem: () => null,
      allSnapshotsItem: (a: Actor) => ({ label: a.locale === 'ko' ? '전체 스냅샷' : 'All snapshots', href: '/snapshots' }),
    } as unknown as SnapshotModule;
    const page = (m: SnapshotModule | null, url: string) => createLayout(() => m, () => 'token')({
      req: req(url), actor: actor('minji'), service: findService('vps-201'), title: 't', body: '', lang: 'ko',
    });
    const html = page(module, '/services/vps-201');
    expect(html.match(/<a href="\/snapshots">전체 스냅샷<\/a>/g)).toHaveLength(2);
    expect(page(module, '/snapshots')).toContain('<a href="/snapshots" class="active" aria-current="page">전체 스냅샷</a>');
    expect(page(null, '/services/vps-201')).not.toContain('href="/snapshots"');
  });
});
