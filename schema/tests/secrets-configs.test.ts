import { describe, expect, it } from 'vitest';

import { WORKDIR, loadError, loadModel } from './helpers.js';

const yaml = [
  'services:',
  '  app:',
  '    image: a',
  '    secrets:',
  '      - token',
  '      - source: cert',
  '        target: /etc/cert.pem',
  '        mode: 0440',
  '    configs:',
  '      - app_conf',
  '      - {source: inline, target: /etc/inline.conf}',
  'secrets:',
  '  token:',
  '    file: ./token.txt',
  '  cert:',
  '    environment: CERT',
  'configs:',
  '  app_conf:',
  '    file: /etc/app.conf',
  '  inline:',
  '    content: "hello"',
  '  shared:',
  '    external: true',
  '',
].join('\n');

describe('secrets and configs', () => {
  it('turns short references into long ones; secrets mount under /run/secrets', () => {
    const { tree } = loadModel(yaml);
    const app = (tree.services as Record<string, Record<string, unknown>>).app as Record<string, unknown>;
    expect(app.secrets).toEqual([
      { source: 'token', target: '/run/secrets/token' },
      { source: 'cert', target: '/etc/cert.pem', mode: 440 },
    ]);
    expect(app.configs).toEqual([{ source: 'app_conf' }, { source: 'inline', target: '/etc/inline.conf' }]);
  });

  it('names the objects <project>_<key>, external ones by their key, and makes files absolute', () => {
    const { tree } = loadModel(yaml);
    expect(tree.secrets).toEqual({
      token: { name: 'proj_token', file: `${WORKDIR}/token.txt` },
      cert: { name: 'proj_cert', environment: 'CERT' },
    });
    expect(tree.configs).toEqual({
      app_conf: { name: 'proj_app_conf', file: '/etc/app.conf' },
      inline: { name: 'proj_inline', content: 'hello' },
      shared: { name: 'shared', external: true },
    });
  });

  it('rejects a reference to an undefined secret or config', () => {
    expect(loadError('services:\n  app:\n    image: a\n    secrets: [nope]\n')).toBe(
      'compose.yaml:4:15 services.app.secrets[0]: service "app" refers to undefined secret nope: invalid compose project',
    );
    expect(loadError('services:\n  app:\n    image: a\n    configs:\n      - source: nope\n')).toBe(
      'compose.yaml:5:9 services.app.configs[0]: service "app" refers to undefined config nope: invalid compose project',
    );
  });
});
