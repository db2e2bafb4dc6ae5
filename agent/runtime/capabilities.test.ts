import { describe, expect, it } from 'vitest';

import { isTscError } from '../../lib/errors.js';
import { ALL_CAPABILITIES, capabilitiesFor } from './capabilities.js';
import { DEFAULT_CAPABILITIES } from './spec.js';

describe('capabilitiesFor', () => {
  it("starts from Docker's 14", () => {
    expect(new Set(capabilitiesFor().bounding)).toEqual(new Set(DEFAULT_CAPABILITIES));
    expect(DEFAULT_CAPABILITIES).toHaveLength(14);
  });

  it('adds and drops, with or without CAP_, any case', () => {
    const caps = capabilitiesFor(['net_admin', 'CAP_SYS_PTRACE'], ['mknod', 'Cap_Net_Raw']);
    expect(caps.bounding).toContain('CAP_NET_ADMIN');
    expect(caps.bounding).toContain('CAP_SYS_PTRACE');
    expect(caps.bounding).not.toContain('CAP_MKNOD');
    expect(caps.bounding).not.toContain('CAP_NET_RAW');
    expect(caps.effective).toEqual(caps.bounding);
    expect(caps.permitted).toEqual(caps.bounding);
  });

  it('handles ALL: drop ALL then add, or add ALL', () => {
    expect(capabilitiesFor(['CHOWN'], ['ALL']).bounding).toEqual(['CAP_CHOWN']);
    expect(capabilitiesFor(['ALL']).bounding).toEqual(ALL_CAPABILITIES);
    expect(capabilitiesFor(['ALL'], ['SYS_ADMIN']).bounding).toContain('CAP_SYS_ADMIN');
  });

  it('names an unknown capability', () => {
    let err: unknown;
    try {
      capabilitiesFor(['NET_WIZARD']);
    } catch (e) {
      err = e;
    }
    expect(isTscError(err, 'ERR_COMPOSE_INVALID')).toBe(true);
    expect((err as Error).message).toBe('unknown capability "NET_WIZARD" in cap_add');
  });
});
