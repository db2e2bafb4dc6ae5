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

import schema from './compose-spec.json' with { type: 'json' };

/** The standalone validator's source (CommonJS). Options match validate-schema.ts's. */
export function precompiledSchemaSource(): string {
  const ajv = new Ajv({ allErrors: true, strict: false, code: { source: true } });
  return standaloneCode.default(ajv, ajv.compile(schema));
}

export const PRECOMPILED_FILE = 'compose-spec-validate.cjs';

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = fileURLToPath(new URL(`./${PRECOMPILED_FILE}`, import.meta.url));
  writeFileSync(out, precompiledSchemaSource());
  process.stdout.write(`wrote ${out}\n`);
}
