import { describe, expect, it } from 'vitest';

import type { ContainerSummary } from '../../agent/api/types.js';
import { createPrefixer, useColor } from './log-prefix.js';
import { portsText, psRow, psTable } from './ps.js';

const c: ContainerSummary = {
  id: 'abc',
  name: 'p-web-1',
  image: 'nginx:alpine',
  labels: { 'com.docker.compose.project': 'p', 'com.docker.compose.service': 'web' },
  state: 'running',
  status: 'Up 2 minutes',
  health: 'none',
  exitCode: 0,
  createdAt: '2026-01-01T00:00:00Z',
  ports: [{ target: 80, protocol: 'tcp', hostIp: '', published: '8080', hostPort: 8080 }],
  networks: ['p_default'],
};

describe('ps output', () => {
  it('writes ports as docker does', () => {
    expect(portsText(c)).toBe('0.0.0.0:8080->80/tcp, :::8080->80/tcp');
    expect(portsText({ ...c, ports: [{ target: 53, protocol: 'udp', hostIp: '127.0.0.1', published: '5353', hostPort: 5353 }] })).toBe('127.0.0.1:5353->53/udp');
  });

  it('prints a table with docker compose\'s columns', () => {
    const row = psRow(c, 'nginx -g "daemon off;"', Date.parse('2026-01-01T00:03:00Z'));
    expect(row).toMatchObject({ Name: 'p-web-1', Service: 'web', Project: 'p', RunningFor: '3 minutes ago', State: 'running' });
    expect(psTable([row], [portsText(c)])).toBe(
      'NAME      IMAGE          COMMAND                   SERVICE   CREATED         STATUS         PORTS\n' +
        'p-web-1   nginx:alpine   "nginx -g \\"daemon of…"   web       3 minutes ago   Up 2 minutes   0.0.0.0:8080->80/tcp, :::8080->80/tcp\n',
    );
  });
});

describe('log prefixes', () => {
  it('pads names and colours each container', () => {
    const p = createPrefixer(['p-web-1', 'p-db-1'], { color: true, prefix: true, timestamps: false });
    expect(p('p-db-1', 'ready')).toBe('\x1b[36mp-db-1   | \x1b[0mready');
    expect(p('p-web-1', 'GET /')).toBe('\x1b[33mp-web-1  | \x1b[0mGET /');
    const plain = createPrefixer(['p-web-1', 'p-db-1'], { color: false, prefix: true, timestamps: true });
    expect(plain('p-db-1', 'ready', '2026-01-01T00:00:00Z')).toBe('p-db-1   | 2026-01-01T00:00:00Z ready');
    expect(createPrefixer(['a'], { color: false, prefix: false, timestamps: false })('a', 'x')).toBe('x');
  });

  it('respects NO_COLOR and --no-color', () => {
    expect(useColor({ isTTY: true }, false, {})).toBe(true);
    expect(useColor({ isTTY: true }, false, { NO_COLOR: '' })).toBe(false);
    expect(useColor({ isTTY: true }, true, {})).toBe(false);
    expect(useColor({ isTTY: false }, false, {})).toBe(false);
  });
});
