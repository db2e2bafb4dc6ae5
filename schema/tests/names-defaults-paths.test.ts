import { describe, expect, it } from 'vitest';

import { WORKDIR, loadError, loadModel, service } from './helpers.js';

describe('resource names', () => {
  it('names volumes <project>_<key>, keeps a given name, external ones by key', () => {
    const { tree } = loadModel(
      'services:\n  a:\n    image: x\n    volumes: [data:/d, ext:/e, named:/n]\nvolumes:\n  data:\n  ext:\n    external: true\n  named:\n    name: shared-data\n    driver: local\n',
      { projectName: 'three-tier' },
    );
    expect(tree.volumes).toEqual({
      data: { name: 'three-tier_data' },
      ext: { name: 'ext', external: true },
      named: { name: 'shared-data', driver: 'local' },
    });
  });

  it('sets the top-level name from the project and drops version', () => {
    const { tree } = loadModel('version: "3"\nname: ignored-here\nservices:\n  a:\n    image: x\n', { projectName: 'chosen' });
    expect(tree.name).toBe('chosen');
    expect('version' in tree).toBe(false);
  });
});

describe('defaults', () => {
  it('maps pull_policy if_not_present to missing', () => {
    expect(service('services:\n  a:\n    image: x\n    pull_policy: if_not_present\n', 'a').pull_policy).toBe('missing');
  });

  it('keeps a secret target that is given', () => {
    const s = service('services:\n  a:\n    image: x\n    secrets: [{source: s, target: custom}]\nsecrets:\n  s:\n    file: ./s\n', 'a');
    expect(s.secrets).toEqual([{ source: 's', target: 'custom' }]);
  });
});

describe('paths', () => {
  it('resolves label_file, additional contexts, local bind volumes and ~ in env_file', () => {
    const { tree } = loadModel(
      [
        'services:',
        '  a:',
        '    image: x',
        '    label_file: ./labels',
        '    env_file: ~/my.env',
        '    build:',
        '      context: .',
        '      additional_contexts: [assets=./assets, base=docker-image://alpine, svc=service:other]',
        'volumes:',
        '  bound:',
        '    driver: local',
        '    driver_opts: {type: none, o: bind, device: ./host-data}',
        '',
      ].join('\n'),
      { environment: { HOME: '/home/me' } },
    );
    const a = (tree.services as Record<string, Record<string, unknown>>).a as Record<string, unknown>;
    expect(a.label_file).toEqual([`${WORKDIR}/labels`]);
    expect(a.env_file).toEqual([{ path: '/home/me/my.env', required: true }]);
    expect((a.build as { additional_contexts: unknown }).additional_contexts).toEqual({
      assets: `${WORKDIR}/assets`,
      base: 'docker-image://alpine',
      svc: 'service:other',
    });
    expect(tree.volumes).toEqual({
      bound: { name: 'proj_bound', driver: 'local', driver_opts: { type: 'none', o: 'bind', device: `${WORKDIR}/host-data` } },
    });
  });

  it('keeps absolute paths as written and cleans relative ones', () => {
    const v = service('services:\n  a:\n    image: x\n    volumes: ["/abs/dir/:/a", "./rel/./x/../y/:/b"]\n', 'a').volumes;
    expect(v).toEqual([
      { type: 'bind', source: '/abs/dir/', target: '/a', bind: { create_host_path: true } },
      { type: 'bind', source: `${WORKDIR}/rel/y`, target: '/b', bind: { create_host_path: true } },
    ]);
  });
});

describe('bind mounts', () => {
  it('need a source', () => {
    expect(loadError('services:\n  a:\n    image: x\n    volumes:\n      - type: bind\n        target: /data\n')).toBe(
      'compose.yaml:5:9 services.a.volumes[0]: invalid mount config for type "bind": field Source must not be empty',
    );
  });
});
