import { describe, expect, it } from 'vitest';

import { TscError, exitCodeFor, isTscError } from './errors.js';

describe('TscError', () => {
  it('puts file, line, column and key path in front of the message', () => {
    const e = new TscError('ERR_COMPOSE_SCHEMA', 'must be a string', {
      file: 'compose.yaml',
      line: 12,
      col: 5,
      path: 'services.web.image',
    });
    expect(e.format()).toBe('compose.yaml:12:5 services.web.image: must be a string');
  });

  it('prints only what is known, and the hint on its own line', () => {
    expect(new TscError('ERR_USAGE', 'no such command').format()).toBe('no such command');
    expect(new TscError('ERR_COMPOSE_INVALID', 'x', { path: 'services.a', hint: 'try y' }).format()).toBe(
      'services.a: x\nhint: try y',
    );
  });

  it('is told apart from other errors by code', () => {
    const e = new TscError('ERR_NOT_FOUND', 'gone');
    expect(isTscError(e)).toBe(true);
    expect(isTscError(e, 'ERR_NOT_FOUND')).toBe(true);
    expect(isTscError(e, 'ERR_CONFLICT')).toBe(false);
    expect(isTscError(new Error('plain'))).toBe(false);
    expect(exitCodeFor(e)).toBe(1);
    expect(exitCodeFor(new Error('bug'))).toBe(2);
  });
});
