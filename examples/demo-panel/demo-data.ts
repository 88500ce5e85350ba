import type { Actor, PanelService } from '../../module/index.js';
import { demoDriverFor } from './qemu-demo.js';

/** A demo user: what the panel knows about a login. Every password is 'demo'. */
export interface DemoUser extends Actor {
  name: string;
  password: string;
}

const GiB = 1024 ** 3;

export const USERS: readonly DemoUser[] = [
  { id: 'alice', role: 'customer', name: 'Alice Kim', locale: 'en', timezone: 'Asia/Seoul', password: 'demo' },
  { id: 'minji', role: 'customer', name: '박민지', locale: 'ko', timezone: 'Asia/Seoul', password: 'demo' },
  { id: 'yuki', role: 'customer', name: '田中 由紀', locale: 'ja', timezone: 'Asia/Tokyo', password: 'demo' },
  { id: 'hostco', role: 'reseller', name: 'HostCo Reseller', locale: 'en', password: 'demo' },
  { id: 'admin', role: 'admin', name: 'Panel Admin', locale: 'en', timezone: 'UTC', password: 'demo' },
];

/** A plan as the demo sells it; the disk size decides which plans can receive a snapshot's disk. */
export interface DemoPlan {
  id: string;
  name: string;
  diskBytes: number;
}

// Mini is smaller than every demo server, so the "new server from a snapshot" order page always has a
// plan it must refuse.
export const PLANS: readonly DemoPlan[] = [
  { id: 'mini', name: 'Mini VPS', diskBytes: 10 * GiB },
  { id: 'starter', name: 'Starter VPS', diskBytes: 25 * GiB },
  { id: 'business', name: 'Business VPS', diskBytes: 80 * GiB },
  { id: 'enterprise', name: 'Enterprise VPS', diskBytes: 160 * GiB },
];

function vps(id: string, vmId: string, fields: Omit<PanelService, 'id' | 'target' | 'status'> & { status?: PanelService['status'] }): PanelService {
  return { id, status: 'active', ...fields, target: { driver: demoDriverFor(vmId), node: 'pve1', vmId } };
}

export const SERVICES: readonly PanelService[] = [
  vps('vps-101', '101', { name: 'web-01', hostname: 'web-01.alice.example', ownerId: 'alice', resellerId: null, planId: 'starter', diskBytes: 25 * GiB }),
  vps('vps-102', '102', { name: 'db-01', hostname: 'db-01.alice.example', ownerId: 'alice', resellerId: null, planId: 'business', diskBytes: 80 * GiB }),
  vps('vps-201', '201', { name: 'minji-blog', hostname: 'blog.minji.example', ownerId: 'minji', resellerId: null, planId: 'starter', diskBytes: 25 * GiB }),
  vps('vps-301', '301', { name: 'yuki-shop', hostname: 'shop.yuki.example', ownerId: 'yuki', resellerId: 'hostco', planId: 'business', diskBytes: 80 * GiB }),
  vps('vps-302', '302', { name: 'suspended-box', hostname: 'box.yuki.example', ownerId: 'yuki', resellerId: 'hostco', planId: 'starter', diskBytes: 25 * GiB, status: 'suspended' }),
];

export function findUser(id: string): DemoUser | null {
  return USERS.find((u) => u.id === id) ?? null;
}

/** One of the fixed demo services (ordered servers are in the service book: service-book.ts). */
export function findService(id: string): PanelService | null {
  const service = SERVICES.find((s) => s.id === id);
  // A copy, so nothing downstream can change the demo's records.
  return service ? { ...service, target: { ...service.target } } : null;
}

export function planName(planId: string): string {
  return PLANS.find((p) => p.id === planId)?.name ?? planId;
}

/** The panel's own visibility rule: customers see theirs, resellers their customers', admins all. */
export function canSee(actor: Actor, service: PanelService): boolean {
  if (actor.role === 'admin') return true;
  if (service.ownerId === actor.id) return true;
  return actor.role === 'reseller' && service.resellerId === actor.id;
}

/** The Actor the module sees: no password, nothing else. */
export function toActor(user: DemoUser): Actor {
  const { id, role, name, locale, timezone } = user;
  return { id, role, name, ...(locale ? { locale } : {}), ...(timezone ? { timezone } : {}) };
}
