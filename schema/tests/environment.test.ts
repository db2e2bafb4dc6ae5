import { describe, expect, it } from 'vitest';

import { loadError, service } from './helpers.js';

describe('environment', () => {
  it('turns a list into a map; a bare KEY is unset until the environment gives it a value', () => {
    const yaml = 'services:\n  app:\n    image: a\n    environment:\n      - A=1\n      - B=x=y\n      - C=\n      - D\n      - E\n';
    expect(service(yaml, 'app', { environment: { E: 'from-shell' } }).environment).toEqual({
      A: '1',
      B: 'x=y',
      C: '',
      D: null,
      E: 'from-shell',
    });
  });

  it('prints map values as strings, keeps null for unset', () => {
    const yaml = 'services:\n  app:\n    image: a\n    environment:\n      PORT: 3000\n      DEBUG: true\n      RATIO: 1.5\n      EMPTY:\n';
    expect(service(yaml, 'app').environment).toEqual({ PORT: '3000', DEBUG: 'true', RATIO: '1.5', EMPTY: null });
  });

  it('keeps values with spaces as written (private-registry seed)', () => {
    const yaml = 'services:\n  r:\n    image: registry:2\n    environment:\n      - REGISTRY_AUTH_HTPASSWD_REALM=Registry Realm\n      - TAGLIST_PAGE_SIZE=100\n';
    expect(service(yaml, 'r').environment).toEqual({ REGISTRY_AUTH_HTPASSWD_REALM: 'Registry Realm', TAGLIST_PAGE_SIZE: '100' });
  });

  it('merges x- anchors with <<, the service\'s own keys winning (x-common-env seed)', () => {
    const yaml = [
      'x-common-env: &common-env',
      '  NODE_ENV: production',
      '  LOG_LEVEL: info',
      'services:',
      '  web:',
      '    image: node:20-alpine',
      '    environment:',
      '      <<: *common-env',
      '      PORT: 3000',
      '      LOG_LEVEL: debug',
      '',
    ].join('\n');
    expect(service(yaml, 'web').environment).toEqual({ NODE_ENV: 'production', LOG_LEVEL: 'debug', PORT: '3000' });
  });

  it('rejects an environment that is neither a list nor a mapping', () => {
    expect(loadError('services:\n  app:\n    image: a\n    environment: 42\n')).toBe(
      'compose.yaml:4:5 services.app.environment: must be a mapping or a list',
    );
  });
});
