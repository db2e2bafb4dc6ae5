/**
 * Build step: compile the Compose JSON Schema once, with ajv's standalone mode, into a CommonJS
 * module beside the built validate-schema.js, so that no CLI start pays for compiling it
 * (about 450 ms). `validate-schema.ts` loads it when present and compiles at run time when not
 * (running from source, in tests).
 *
 *   node dist/schema/precompile-schema.js     (run by `npm run build`)
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';

import { stampSource, writeCodeCache } from '../lib/code-cache-writer.js';
import { loadWithCodeCache, useCodeCacheFlags } from '../lib/code-cached-module.js';
import schema from './compose-spec.json' with { type: 'json' };
import { PRECOMPILED_CACHE, PRECOMPILED_FILE } from './validate-schema.js';

/** The standalone validator's source (CommonJS). Options match validate-schema.ts's. */
export function precompiledSchemaSource(): string {
  const ajv = new Ajv({ allErrors: true, strict: false, code: { source: true } });
  return standaloneCode.default(ajv, ajv.compile(schema));
}

/**
 * Documents the validator runs on before its code cache is written, so that the functions a
 * usual project needs are compiled in the cache (any other compiles on first use).
 */
const WARM_UP: unknown[] = [
  {
    name: 'warm',
    services: {
      web: {
        image: 'nginx', restart: 'unless-stopped', networks: ['front', 'back'], ports: ['80:80', { target: 443, published: '443', protocol: 'tcp', mode: 'ingress' }],
        environment: { A: '1', B: null }, labels: ['a=b'], depends_on: ['db'], command: ['a', 'b'], entrypoint: 'sh',
        healthcheck: { test: ['CMD', 'true'], interval: '10s', timeout: '5s', retries: 3, start_period: '1s' },
        logging: { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } },
        volumes: ['./a:/a:ro', { type: 'volume', source: 'data', target: '/d' }], env_file: ['.env'],
        deploy: { replicas: 2, resources: { limits: { cpus: '0.5', memory: '512M' } }, restart_policy: { condition: 'on-failure' } },
        build: { context: '.', dockerfile: 'Dockerfile', args: { A: '1' } }, secrets: ['s'], configs: [{ source: 'c', target: '/c' }],
        'x-extra': { any: true },
      },
      db: { image: 'postgres', depends_on: { web: { condition: 'service_healthy', required: false } }, networks: { back: { aliases: ['db'] } }, profiles: ['p'] },
    },
    networks: { front: null, back: { driver: 'bridge', internal: true } },
    volumes: { data: { driver: 'local' } },
    secrets: { s: { file: './s' } },
    configs: { c: { file: './c' } },
    'x-base': { a: 1 },
  },
];

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = fileURLToPath(new URL(`./${PRECOMPILED_FILE}`, import.meta.url));
  writeFileSync(out, stampSource(precompiledSchemaSource()));
  process.stdout.write(`wrote ${out}\n`);
  useCodeCacheFlags(); // the flags `config` loads the validator under
  const loaded = loadWithCodeCache(out);
  const validate = (typeof loaded.exports === 'function' ? loaded.exports : (loaded.exports as { default: unknown }).default) as (doc: unknown) => boolean;
  for (const doc of WARM_UP) if (!validate(doc)) throw new Error('the warm-up document does not match the Compose schema');
  const cache = fileURLToPath(new URL(`./${PRECOMPILED_CACHE}`, import.meta.url));
  writeCodeCache(loaded, cache);
  process.stdout.write(`wrote ${cache}\n`);
}
