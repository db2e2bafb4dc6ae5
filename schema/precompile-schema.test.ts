import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';

import schema from './compose-spec.json' with { type: 'json' };
import { precompiledSchemaSource } from './precompile-schema.js';

describe('the precompiled schema validator', () => {
  it('judges documents exactly as the run-time compiled one, with the same errors', () => {
    // Inside the package, so that the generated code's require('ajv/...') resolves.
    const cache = fileURLToPath(new URL('../node_modules/.cache', import.meta.url));
    mkdirSync(cache, { recursive: true });
    const dir = mkdtempSync(join(cache, 'tsc-precompiled-'));
    try {
      const file = join(dir, 'validate.cjs');
      writeFileSync(file, precompiledSchemaSource());
      const mod = createRequire(import.meta.url)(file) as ValidateFunction | { default: ValidateFunction };
      const pre = typeof mod === 'function' ? mod : mod.default;
      const live = new Ajv({ allErrors: true, strict: false }).compile(schema);
      const docs: unknown[] = [
        { services: { web: { image: 'nginx', ports: ['80:80'], environment: { A: '1' } } } },
        { services: { web: { image: 'x', foo: 1, ports: 80 } } },
        { services: { db: { healthcheck: { test: 'pg_isready', interval: 5 } } }, volumes: { data: null } },
        { version: '3', services: [] },
      ];
      for (const d of docs) {
        expect(pre(d)).toBe(live(d));
        expect(pre.errors ?? null).toEqual(live.errors ?? null);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
