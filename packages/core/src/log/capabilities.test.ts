import { describe, expect, it } from 'vitest';
import { hasAppendNotifier, hasCallLeases, hasClaimableLeases, hasReadiness, type CallLeases } from './capabilities.js';
import { InMemoryEventStore } from './store.js';

const leases: CallLeases = {
  acquireLease: async () => ({
    acquired: false,
    holder: { streamId: 's', owner: 'o', token: 1, acquiredAt: new Date(0), expiresAt: new Date(0), remainingMs: 0 },
  }),
  renewLease: async () => undefined,
  releaseLease: async () => false,
  getLease: async () => undefined,
};

describe('store capabilities', () => {
  it('the in-memory store offers none of them', () => {
    const store = new InMemoryEventStore();
    expect([hasCallLeases(store), hasAppendNotifier(store), hasReadiness(store)]).toEqual([false, false, false]);
  });

  it('a store offers leases only with all four lease operations', () => {
    const store = Object.assign(new InMemoryEventStore(), leases);
    expect(hasCallLeases(store)).toBe(true);
    const { getLease: _, ...three } = leases;
    expect(hasCallLeases(Object.assign(new InMemoryEventStore(), three))).toBe(false);
  });

  it('subscribe makes an append notifier, ready() a store with a readiness', () => {
    const store = Object.assign(new InMemoryEventStore(), { subscribe: async () => () => {}, ready: async () => {} });
    expect([hasAppendNotifier(store), hasReadiness(store), hasCallLeases(store)]).toEqual([true, true, false]);
  });

  it('leases are claimable only with both endLease and claimableCalls', () => {
    expect(hasClaimableLeases(leases)).toBe(false);
    const endLease = async () => false;
    const claimableCalls = async () => [];
    expect(hasClaimableLeases({ ...leases, endLease })).toBe(false);
    expect(hasClaimableLeases({ ...leases, endLease, claimableCalls })).toBe(true);
  });
});
