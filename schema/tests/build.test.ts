import { describe, expect, it } from 'vitest';

import { WORKDIR, loadError, service } from './helpers.js';

describe('build', () => {
  it('turns a string into an absolute context with the default Dockerfile', () => {
    expect(service('services:\n  app:\n    build: ./app\n', 'app').build).toEqual({ context: `${WORKDIR}/app`, dockerfile: 'Dockerfile' });
    expect(service('services:\n  app:\n    build: .\n', 'app').build).toEqual({ context: WORKDIR, dockerfile: 'Dockerfile' });
  });

  it('fills the context of a long form and keeps a given dockerfile or dockerfile_inline', () => {
    expect(service('services:\n  app:\n    build:\n      dockerfile: Dockerfile.dev\n', 'app').build).toEqual({
      context: WORKDIR,
      dockerfile: 'Dockerfile.dev',
    });
    expect(service('services:\n  app:\n    build:\n      dockerfile_inline: FROM scratch\n', 'app').build).toEqual({
      context: WORKDIR,
      dockerfile_inline: 'FROM scratch',
    });
  });

  it('keeps a remote context as written', () => {
    const url = 'https://github.com/docker/rootfs.git#main';
    expect(service(`services:\n  app:\n    build: "${url}"\n`, 'app').build).toEqual({ context: url, dockerfile: 'Dockerfile' });
  });

  it('turns args into a map; a bare arg takes the environment\'s value or goes away', () => {
    const b = service('services:\n  app:\n    build:\n      context: .\n      args: [A=1, FROM_ENV, MISSING]\n', 'app', {
      environment: { FROM_ENV: 'yes' },
    }).build;
    expect(b).toEqual({ context: WORKDIR, dockerfile: 'Dockerfile', args: { A: '1', FROM_ENV: 'yes' } });
  });

  it('rejects unknown build keys', () => {
    expect(loadError('services:\n  app:\n    build:\n      context: .\n      contxt: x\n')).toBe(
      'compose.yaml:5:7 services.app.build: Additional property contxt is not allowed',
    );
  });
});
