/**
 * A generated compose project of N services with anchors and `<<` merge keys, an override file
 * and `${...}` interpolation (from `.env` and defaults): the input of the config benchmark.
 * Images only (no build contexts), so that docker-compose 1.29 can load it too.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function generateProject(dir: string, services: number): void {
  const base: string[] = [
    'x-base: &base',
    '  restart: unless-stopped',
    '  networks: [front, back]',
    '  logging: &logging',
    '    driver: json-file',
    '    options: {max-size: 10m, max-file: "3"}',
    '  environment: &env',
    '    LOG_LEVEL: ${LOG_LEVEL:-info}',
    '    REGION: ${REGION:-eu}',
    'services:',
  ];
  const override: string[] = ['services:'];
  for (let i = 0; i < services; i++) {
    base.push(
      `  svc${i}:`,
      '    <<: *base',
      `    image: \${REGISTRY:-registry.local}/app${i}:\${TAG:-latest}`,
      '    environment:',
      '      <<: *env',
      `      INDEX: "${i}"`,
      `      PEER: svc${(i + 1) % services}`,
      '    ports:',
      `      - "${10000 + i}:80"`,
      '    healthcheck:',
      '      test: ["CMD", "true"]',
      '      interval: 10s',
    );
    if (i > 0) base.push('    depends_on:', `      - svc${i - 1}`);
    if (i % 2 === 0) {
      override.push(
        `  svc${i}:`,
        '    environment:',
        '      OVERRIDDEN: "yes"',
        '    labels:',
        `      tier: t${i % 7}`,
        '    ports:',
        `      - "${20000 + i}:81"`,
      );
    }
  }
  base.push('networks:', '  front: {}', '  back: {}');
  writeFileSync(join(dir, 'compose.yaml'), `${base.join('\n')}\n`);
  writeFileSync(join(dir, 'compose.override.yaml'), `${override.join('\n')}\n`);
  writeFileSync(join(dir, '.env'), 'TAG=1.0\nREGION=us\n');
}
