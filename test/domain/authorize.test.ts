import { describe, expect, it } from 'vitest';
import { authorize, canSeeService, type Action } from '../../module/domain/authorize.js';
import type { Actor, PanelService } from '../../module/domain/types.js';

const service = (over: Partial<PanelService> = {}): PanelService => ({
  id: 's1', name: 'web', ownerId: 'alice', resellerId: 'rex', planId: 'p', diskBytes: 1, status: 'active',
  target: { driver: 'simulated', node: 'n', vmId: '1' }, ...over,
});
const alice: Actor = { id: 'alice', role: 'customer' };
const bob: Actor = { id: 'bob', role: 'customer' };
const rex: Actor = { id: 'rex', role: 'reseller' };
const otherReseller: Actor = { id: 'zed', role: 'reseller' };
const admin: Actor = { id: 'root', role: 'admin' };
const CHANGES: Action[] = ['create', 'pin', 'edit', 'delete', 'restore', 'schedule'];

const codeOf = (fn: () => void) => {
  try {
    fn();
    return null;
  } catch (e) {
    return (e as { code: string }).code;
  }
};

describe('authorize', () => {
  it('customers see their own services, resellers their customers\', admins all; others get not-found', () => {
    expect(canSeeService(alice, service())).toBe(true);
    expect(canSeeService(rex, service())).toBe(true);
    expect(canSeeService(admin, service())).toBe(true);
    expect(canSeeService(bob, service())).toBe(false);
    expect(canSeeService(otherReseller, service())).toBe(false);
    // A reseller id on a customer never makes another customer a reseller.
    expect(canSeeService({ id: 'rex', role: 'customer' }, service())).toBe(false);
    expect(canSeeService(rex, service({ resellerId: null }))).toBe(false);
    for (const action of ['view', ...CHANGES] as Action[]) {
      expect(codeOf(() => authorize(bob, action, service()))).toBe('service_not_found');
      expect(codeOf(() => authorize(otherReseller, action, service()))).toBe('service_not_found');
      expect(codeOf(() => authorize(alice, action, service()))).toBeNull();
    }
  });

  it('suspended and terminated services refuse changes by customers and resellers but still show', () => {
    for (const status of ['suspended', 'terminated'] as const) {
      for (const actor of [alice, rex]) {
        expect(codeOf(() => authorize(actor, 'view', service({ status })))).toBeNull();
        for (const action of CHANGES) expect(codeOf(() => authorize(actor, action, service({ status })))).toBe(`service_${status}`);
      }
      for (const action of CHANGES) expect(codeOf(() => authorize(admin, action, service({ status })))).toBeNull();
    }
  });

  it('admin-only actions refuse everyone else with 403', () => {
    expect(codeOf(() => authorize(alice, 'admin', service()))).toBe('admin_only');
    expect(codeOf(() => authorize(rex, 'admin', service()))).toBe('admin_only');
    expect(codeOf(() => authorize(admin, 'admin', service()))).toBeNull();
  });
});
