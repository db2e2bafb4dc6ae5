/**
 * Fuzzing the loader: random compose-like documents and mutations of real ones. Whatever the
 * input, the loader returns a project or throws a TscError (a Compose error the CLI prints
 * with its location), never anything else.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { stringify } from 'yaml';

import { TscError } from '../lib/errors.js';
import { renderConfig } from './config-output.js';
import { loadProject } from './load.js';

/** More runs with FUZZ_RUNS=N when hunting. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const cwd = mkdtempSync(join(tmpdir(), 'tsc-fuzz-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** Load `text` as `-f -`; a TscError is a fine answer, anything else fails the property. */
function loadsOrFailsCleanly(text: string): boolean {
  try {
    const r = loadProject({ cwd, files: ['-'], projectName: 'fuzz', shell: { SET: 'value', EMPTY: '' }, stdin: () => text });
    renderConfig(r.tree, 'yaml');
    renderConfig(r.tree, 'json');
    return true;
  } catch (e) {
    if (e instanceof TscError) return true;
    throw e;
  }
}

const word = fc.constantFrom('web', 'db', 'a', 'x-ext', '80', 'true', '__proto__', 'constructor', '<<', '', 'name');
const scalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('${SET}', '${UNSET:-d}', '${EMPTY:?needed}', '$$', '${', '${A:-${B:-c}}', './rel:/abs:ro', '80:80/udp', '1g', '10s'),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ maxDepth: 4 }, scalar, fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(word, tie('value'), { maxKeys: 3 })),
}));

const serviceKey = fc.constantFrom(
  'image', 'build', 'command', 'entrypoint', 'environment', 'ports', 'volumes', 'depends_on', 'profiles',
  'extends', 'networks', 'labels', 'healthcheck', 'logging', 'deploy', 'env_file', 'x-custom', 'secrets', 'bogus',
);
const service = fc.dictionary(serviceKey, value, { maxKeys: 6 });
const document = fc.record(
  {
    name: fc.oneof(fc.string({ maxLength: 8 }), value),
    version: fc.constant('3.8'),
    services: fc.oneof(fc.dictionary(word, service, { maxKeys: 4 }), value),
    networks: fc.dictionary(word, value, { maxKeys: 2 }),
    volumes: fc.dictionary(word, value, { maxKeys: 2 }),
    'x-common': value,
    include: value,
  },
  { requiredKeys: [] },
);

const seeds = ['three-tier', 'x-base-service', 'profiles', 'x-logging-deploy'].map((n) =>
  readFileSync(fileURLToPath(new URL(`../fixtures/compose/${n}/compose.yaml`, import.meta.url)), 'utf8'),
);
const edit = fc.record({
  at: fc.nat(),
  remove: fc.nat({ max: 6 }),
  insert: fc.oneof(
    fc.constantFrom(':', '- ', '{', '}', '[', ']', '$', '${', '&a ', '*a', '!reset ', '!override ', '<<: ', '\n', '  ', '#', '"', "'", '? ', '|', '>', '---\n', '%YAML 1.1\n'),
    fc.string({ maxLength: 4 }),
  ),
});
const mutated = fc.tuple(fc.constantFrom(...seeds), fc.array(edit, { minLength: 1, maxLength: 5 })).map(([text, edits]) => {
  let t = text;
  for (const e of edits) {
    const at = e.at % (t.length + 1);
    t = t.slice(0, at) + e.insert + t.slice(at + e.remove);
  }
  return t;
});

describe('loader fuzz', () => {
  it('random compose documents load or fail with a TscError', () => {
    fc.assert(fc.property(document, (doc) => loadsOrFailsCleanly(stringify(doc))), { numRuns: RUNS });
  });

  it('mutated real compose files load or fail with a TscError', () => {
    fc.assert(fc.property(mutated, loadsOrFailsCleanly), { numRuns: RUNS });
  });

  it('arbitrary text loads or fails with a TscError', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), loadsOrFailsCleanly), { numRuns: RUNS });
  });
});
