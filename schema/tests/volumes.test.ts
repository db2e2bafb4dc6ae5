import { describe, expect, it } from 'vitest';

import { WORKDIR, loadError, service } from './helpers.js';

const yaml = (entries: string[], top = 'volumes:\n  data:\n'): string =>
  `services:\n  db:\n    image: postgres\n    volumes:\n${entries.map((e) => `      - ${e}\n`).join('')}${top}`;
const volumes = (...entries: string[]): unknown => service(yaml(entries), 'db').volumes;

describe('volumes', () => {
  it('turns a relative short bind into an absolute read-write bind that creates its host path', () => {
    expect(volumes('./html:/usr/share/nginx/html')).toEqual([
      { type: 'bind', source: `${WORKDIR}/html`, target: '/usr/share/nginx/html', bind: { create_host_path: true } },
    ]);
    expect(volumes('.:/app')).toEqual([{ type: 'bind', source: WORKDIR, target: '/app', bind: { create_host_path: true } }]);
  });

  it('reads :ro, :rw, SELinux labels and propagation', () => {
    expect(volumes('./certs:/certs:ro')).toEqual([
      { type: 'bind', source: `${WORKDIR}/certs`, target: '/certs', read_only: true, bind: { create_host_path: true } },
    ]);
    expect(volumes('/var/log:/log:rw,z,rshared')).toEqual([
      { type: 'bind', source: '/var/log', target: '/log', bind: { selinux: 'z', propagation: 'rshared', create_host_path: true } },
    ]);
    expect(volumes('/srv:/srv:Z')).toEqual([
      { type: 'bind', source: '/srv', target: '/srv', bind: { selinux: 'Z', create_host_path: true } },
    ]);
  });

  it('names volumes, keeps anonymous ones, reads nocopy and keeps the target as written (compose-go ParseVolume)', () => {
    expect(volumes('data:/var/lib/postgresql/data/', '/scratch', 'data:/cache:nocopy')).toEqual([
      { type: 'volume', source: 'data', target: '/var/lib/postgresql/data/', volume: {} },
      { type: 'volume', target: '/scratch', volume: {} },
      { type: 'volume', source: 'data', target: '/cache', volume: { nocopy: true } },
    ]);
  });

  it('expands ~ to the home directory', () => {
    const v = service(yaml(['~/cache:/cache']), 'db', { environment: { HOME: '/home/me' } }).volumes;
    expect(v).toEqual([{ type: 'bind', source: '/home/me/cache', target: '/cache', bind: { create_host_path: true } }]);
  });

  it('keeps long syntax, filling create_host_path only where a bind block is given', () => {
    expect(
      volumes(
        '{type: bind, source: ./a, target: /a}',
        '{type: bind, source: ./b, target: /b, bind: {propagation: slave}}',
        '{type: tmpfs, target: /tmp, tmpfs: {size: 64m}}',
        '{type: volume, source: data, target: /d, read_only: "true"}',
      ),
    ).toEqual([
      { type: 'bind', source: `${WORKDIR}/a`, target: '/a' },
      { type: 'bind', source: `${WORKDIR}/b`, target: '/b', bind: { propagation: 'slave', create_host_path: true } },
      { type: 'tmpfs', target: '/tmp', tmpfs: { size: '67108864' } },
      { type: 'volume', source: 'data', target: '/d', read_only: true },
    ]);
  });

  it('reports bad specs with compose-go\'s wording', () => {
    expect(loadError(yaml(['"data::/b"']))).toBe('compose.yaml:5:9 services.db.volumes[0]: invalid spec: data::/b: empty section between colons');
    expect(loadError(yaml(['./a:/b:ro:extra']))).toBe(
      'compose.yaml:5:9 services.db.volumes[0]: invalid spec: ./a:/b:ro:extra: too many colons',
    );
    expect(loadError(yaml(['{source: ./a, target: /a}']))).toBe('compose.yaml:5:9 services.db.volumes[0]: type is required');
  });

  it('rejects a named volume that is not declared', () => {
    expect(loadError(yaml(['other:/x'], ''))).toBe(
      'compose.yaml:5:9 services.db.volumes[0]: service "db" refers to undefined volume other: invalid compose project',
    );
  });
});
