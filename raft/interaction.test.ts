/**
 * Runs the scripts in testdata/*.txt (etcd's datadriven format) and compares every command's
 * output with the file. REWRITE=1 regenerates the outputs; review the diff before committing.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InteractionEnv, formatScript, parseScript } from './testing/interaction-env.js';

const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'testdata');
const rewrite = process.env['REWRITE'] === '1';

describe('interaction scripts', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
    it(file, () => {
      const path = join(dir, file);
      const blocks = parseScript(readFileSync(path, 'utf8'));
      const env = new InteractionEnv();
      const results = blocks.map((b) => ({ ...b, output: env.handle(b.cmd) }));
      if (rewrite) {
        writeFileSync(path, formatScript(results));
        return;
      }
      for (const r of results) {
        const got = r.output === '' ? 'ok' : r.output;
        expect(got, `${file}:${r.cmd.line} ${r.cmd.name} ${r.cmd.args.join(' ')}`).toBe(r.expected);
      }
    });
  }
});
