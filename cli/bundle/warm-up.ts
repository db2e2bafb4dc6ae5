/**
 * Build step (run by build-bundle.ts in a process of its own): load the CLI bundle as main.ts
 * does, run commands that need no agent, then write the bundle's code cache, which then holds
 * every function they ran compiled. What the warm-up did not run compiles on first use.
 *
 *   node dist/cli/bundle/warm-up.js BUNDLE CACHE       (stdout: the commands' output, discard it)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { writeCodeCache } from '../../lib/code-cache-writer.js';
import { loadWithCodeCache, useCodeCacheFlags } from '../../lib/code-cached-module.js';

/** A small project with what most compose files have: anchors, an override, interpolation. */
const PROJECT: Record<string, string> = {
  'compose.yaml': `name: warm
x-base: &base
  restart: unless-stopped
  environment:
    LEVEL: \${LEVEL:-info}
  labels: [a=b]
services:
  web:
    <<: *base
    image: nginx:\${TAG}
    ports: ["8080:80", "127.0.0.1:8443:443/tcp"]
    depends_on:
      db: {condition: service_healthy}
    volumes: ["./html:/usr/share/nginx/html:ro", "data:/data"]
    networks: [front, back]
    deploy: {resources: {limits: {cpus: "0.5", memory: 256M}}}
  db:
    <<: *base
    image: postgres:16
    healthcheck: {test: ["CMD", "pg_isready"], interval: 5s, retries: 3}
    networks: {back: {aliases: [database]}}
  tools:
    image: busybox
    command: [sleep, "1"]
    profiles: [debug]
networks: {front: {}, back: {internal: true}}
volumes: {data: {}}
`,
  'compose.override.yaml': 'services:\n  web:\n    environment: [EXTRA=1]\n',
  '.env': 'TAG=1.27\n',
};

/** The commands run, in a directory holding PROJECT. */
const COMMANDS: readonly string[][] = [
  ['--help'],
  ['version'],
  ['config'],
  ['--profile', 'debug', 'config', '--format', 'json'],
  ['config', '--services'],
  ['no-such-command'],
];

async function main(): Promise<void> {
  const [bundle, cache] = process.argv.slice(2);
  if (bundle === undefined || cache === undefined) throw new Error('usage: warm-up.js BUNDLE CACHE');
  useCodeCacheFlags();
  const loaded = loadWithCodeCache(bundle, { importModule: (specifier) => import(specifier) });
  const program = loaded.exports as { main(argv: readonly string[]): Promise<number> };
  const dir = mkdtempSync(join(tmpdir(), 'tsc-warm-up-'));
  try {
    for (const [file, text] of Object.entries(PROJECT)) writeFileSync(join(dir, file), text);
    process.chdir(dir);
    for (const argv of COMMANDS) {
      const code = await program.main(argv);
      if (code !== 0 && argv[0] !== 'no-such-command') throw new Error(`warm-up: \`tsc-compose ${argv.join(' ')}\` exited ${code}`);
    }
  } finally {
    process.chdir(tmpdir());
    rmSync(dir, { recursive: true, force: true });
  }
  writeCodeCache(loaded, cache);
}

await main();
