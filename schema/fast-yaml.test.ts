import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { generateProject } from '../bench/config/generate.js';
import { fastParseDocument } from './fast-yaml.js';
import { parseCompose } from './parse.js';
import { emitYaml } from './yaml-emit.js';

/** What parseCompose gives, or the formatted error it throws. */
function outcome(text: string, fast: boolean): unknown {
  try {
    return parseCompose(text, 'compose.yaml', { fast }).map((d) => ({
      tree: d.tree,
      positions: [...d.positions.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      tags: [...d.tags.entries()].sort(),
    }));
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e), at: (e as { line?: number; col?: number }).line };
  }
}

function expectSame(text: string): void {
  expect(outcome(text, true)).toEqual(outcome(text, false));
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const shared = [join(root, '..', 'shared', 'corpus', 'compose'), '/work/shared/corpus/compose'].find((d) => existsSync(d));
const corpus = [...yamlFiles(join(root, 'fixtures')), ...(shared === undefined ? [] : yamlFiles(shared))];

describe('fast-yaml reads the common shape exactly as the yaml package does', () => {
  it('on every compose file of the fixtures and the corpus', () => {
    let taken = 0;
    for (const f of corpus) {
      const text = readFileSync(f, 'utf8');
      if (fastParseDocument(text) !== undefined) taken++;
      expectSame(text);
    }
    // The fast path must actually serve ordinary files, or the benchmark measures nothing.
    expect(taken).toBeGreaterThan(corpus.length / 3);
  });

  it('on the generated benchmark project (anchors, <<, flows, quotes)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsc-fast-yaml-'));
    try {
      generateProject(dir, 40);
      for (const f of ['compose.yaml', 'compose.override.yaml']) {
        const text = readFileSync(join(dir, f), 'utf8');
        expect(fastParseDocument(text)).toBeDefined();
        expectSame(text);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['x-a: &a\n  k: v # c\n  f: {a: 1, "b": [x, \'y\']}\ns:\n  <<: *a\n  k: w\n'],
    ['a:\n- 1\n- two\nb: !reset []\nc: !override\n  - x\nd: !reset\n'],
    ['a:\n  - k: 1\n    j: [2]\n  - "q": \'it\'\'s\'\n  -   x: y\n'],
    ['a: "esc \\" \\\\ \\n \\t"\nb: \'\'\nc: ""\nd: 0755\ne: 1e3\nf: yes\ng: ~\nh: 0x1F\n'],
    ['a: b: c\n'],
    ['a: 1\na: 2\n'],
    ['a:\n  b: 1\n c: 2\n'],
    ['a: [1, 2,]\n'],
    ['a: *nope\n'],
    ['a: |\n  x\n'],
    ['a: plain\n  continued\n'],
    ['a: "open\n  close"\n'],
    ['- a\n- b\n'],
    ['a:\n  -\n  - x\n'],
    ['80: x\ntrue: y\n'],
    ['a: {b: c: d}\n'],
    ['a: &x\n  <<: *x\n'],
    ['a: [a, {b: 1}, [c]]\nb: {}\nc: []\n'],
    ['a: x #c\n# only\n\n   \nb: "#not" # yes\n'],
    ['a:\tb\n'],
    ['--- \na: 1\n'],
    ['a: @x\n'],
    ['a: -\n'],
    ['a: - b\n'],
    ['"a b": 1\n\'c\': 2\n'],
    ['a:\n    - x\n  - y\n'],
  ])('%j', (text) => {
    expectSame(text);
  });

  it('on random trees written as YAML', () => {
    const key = fc.oneof(fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,6}$/), fc.string({ maxLength: 4 }));
    const scalar = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null), fc.constantFrom('a: b', 'x #y', '- z', '"q"', "it's", '${X:-y}', 'a\nb'));
    const tree = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, scalar, tie('map'), tie('seq')),
      map: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
      seq: fc.array(tie('value'), { maxLength: 3 }),
    }));
    fc.assert(
      fc.property(tree.map, (t) => {
        expectSame(emitYaml(t as Record<string, unknown>));
      }),
      { numRuns: 2000 },
    );
    const styles = fc.record({
      collectionStyle: fc.constantFrom('any', 'block', 'flow'),
      defaultStringType: fc.constantFrom('PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE'),
      defaultKeyType: fc.constantFrom(null, 'PLAIN', 'QUOTE_DOUBLE'),
      indentSeq: fc.boolean(),
      indent: fc.constantFrom(2, 4),
    });
    fc.assert(
      fc.property(tree.map, styles, (t, o) => {
        expectSame(stringify(t, { ...o, lineWidth: 0 }));
      }),
      { numRuns: 2000 },
    );
  });

  it('on mutated corpus files (errors included)', () => {
    const texts = corpus.map((f) => readFileSync(f, 'utf8'));
    const bits = [' ', '  ', ':', ': ', '-', '- ', '#', ' #', '"', "'", '&a ', '*a', '\n', '\n  ', '[', ']', '{', '}', ',', '!reset ', '!!str ', '|', '<<: *a\n', '\t', '?', '@', '\\'];
    fc.assert(
      fc.property(fc.nat(texts.length - 1), fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(...bits), fc.nat(3), (i, where, bit, del) => {
        const text = texts[i] as string;
        const at = Math.floor(where * text.length);
        expectSame(text.slice(0, at) + bit + text.slice(at + del));
      }),
      { numRuns: 3000 },
    );
  });
});
