import { describe, expect, it } from 'vitest';

import { parseCompose } from './parse.js';
import { errorOf } from '../test/support/error-of.js';

function parseOne(text: string) {
  const docs = parseCompose(text, 'compose.yaml');
  expect(docs).toHaveLength(1);
  return docs[0]!;
}

describe('parseCompose', () => {
  it('records the position of every key and sequence item', () => {
    const { tree, positions } = parseOne('services:\n  web:\n    image: nginx\n    ports:\n      - "80:80"\n      - 443:443\n');
    expect(tree).toEqual({ services: { web: { image: 'nginx', ports: ['80:80', '443:443'] } } });
    expect(positions.get('services.web.image')).toEqual({ file: 'compose.yaml', line: 3, col: 5 });
    expect(positions.get('services.web.ports[1]')).toEqual({ file: 'compose.yaml', line: 6, col: 9 });
  });

  it('stringifies keys and keeps YAML 1.2 scalars (yes is a string, 0o10 an int)', () => {
    const { tree } = parseOne('x-a:\n  80: a\n  true: b\n  1.5: c\n  null: d\n  v: yes\n  o: 0o10\n  n: ~\n');
    expect(tree).toEqual({ 'x-a': { '80': 'a', true: 'b', '1.5': 'c', null: 'd', v: 'yes', o: 8, n: null } });
  });

  it('expands anchors, aliases and << merge keys, keys written locally winning', () => {
    const text = [
      'x-base: &base',
      '  restart: always',
      '  image: base',
      'x-more: &more',
      '  image: more',
      '  tty: true',
      'services:',
      '  web:',
      '    <<: [*base, *more]',
      '    image: web',
      '  api:',
      '    <<: *base',
      '    labels: &labels {a: "1"}',
      '  db:',
      '    labels: *labels',
      '',
    ].join('\n');
    const { tree, positions } = parseOne(text);
    const services = tree.services as Record<string, unknown>;
    expect(services.web).toEqual({ image: 'web', restart: 'always', tty: true });
    expect(services.api).toEqual({ restart: 'always', image: 'base', labels: { a: '1' } });
    expect(services.db).toEqual({ labels: { a: '1' } });
    // the key written in the service keeps its own line; merged keys point at the anchor
    expect(positions.get('services.web.image')?.line).toBe(10);
    expect(positions.get('services.web.restart')?.line).toBe(2);
  });

  it('keeps a quoted "<<" as a plain key', () => {
    expect(parseOne('x-a:\n  "<<": 1\n').tree).toEqual({ 'x-a': { '<<': 1 } });
  });

  it('does not let a __proto__ key change the prototype', () => {
    const { tree } = parseOne('x-a:\n  __proto__: {polluted: true}\n');
    const xa = tree['x-a'] as Record<string, unknown>;
    expect(Object.keys(xa)).toEqual(['__proto__']);
    expect((xa as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('records !reset and !override tags by path', () => {
    const { tree, tags } = parseOne('services:\n  web:\n    ports: !reset []\n    command: !override [a]\n');
    expect(tree).toEqual({ services: { web: { command: ['a'] } } });
    expect([...tags]).toEqual([
      ['services.web.ports', 'reset'],
      ['services.web.command', 'override'],
    ]);
  });

  it('leaves a !reset key out even when << would bring it in', () => {
    const { tree } = parseOne('x-b: &b {image: a, ports: ["80:80"]}\nservices:\n  web:\n    <<: *b\n    ports: !reset []\n');
    expect(tree.services).toEqual({ web: { image: 'a' } });
  });

  it('reads an empty file as an empty project and splits documents', () => {
    expect(parseOne('').tree).toEqual({});
    expect(parseOne('# only a comment\n').tree).toEqual({});
    const docs = parseCompose('services: {a: {image: x}}\n---\nservices: {b: {image: y}}\n', 'c.yaml');
    expect(docs.map((d) => d.tree)).toEqual([{ services: { a: { image: 'x' } } }, { services: { b: { image: 'y' } } }]);
  });

  it('rejects duplicate keys naming both lines', () => {
    expect(errorOf(() => parseCompose('services:\n  web:\n    image: a\n    image: b\n', 'compose.yaml'))).toBe(
      'compose.yaml:4:5 services.web.image: mapping key "image" already defined at line 3',
    );
  });

  it('reports syntax errors with file, line and column', () => {
    expect(errorOf(() => parseCompose('services:\n  web: [a\n  db: x\n', 'compose.yaml'))).toBe(
      'compose.yaml:3:3: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    );
    expect(errorOf(() => parseCompose('services:\n  web:\n    image: "a\n', 'compose.yaml'))).toBe(
      'compose.yaml:4:1: invalid YAML: Missing closing "quote',
    );
  });

  it('rejects a document that is not a mapping', () => {
    expect(errorOf(() => parseCompose('- a\n- b\n', 'compose.yaml'))).toBe(
      'compose.yaml:1:1: top-level object must be a mapping',
    );
  });

  it('rejects mapping keys that are collections', () => {
    expect(errorOf(() => parseCompose('x-a:\n  ? [a]\n  : b\n', 'compose.yaml'))).toBe(
      'compose.yaml:2:5 x-a: mapping keys must be scalars (strings, numbers or booleans)',
    );
  });

  it('rejects an alias inside the node it names', () => {
    expect(errorOf(() => parseCompose('x-a: &a\n  b: *a\n', 'compose.yaml'))).toBe(
      'compose.yaml:2:6 x-a.b: alias *a refers to a node that contains it',
    );
  });

  it('stops a billion-laughs document', () => {
    const lines = ['x-0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) lines.push(`x-${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    expect(errorOf(() => parseCompose(`${lines.join('\n')}\n`, 'compose.yaml'))).toMatch(
      /^compose\.yaml:\d+:\d+ x-\d(\[\d+\])+: document too complex: aliases expand to more than 100000 nodes$/,
    );
  });
});

describe('plain scalars as go-yaml v3 reads them', () => {
  it('reads leading-zero integers as octal, 1.2 booleans only, and drops underscores', async () => {
    const { resolvePlain } = await import('./parse.js');
    expect(resolvePlain('0440')).toBe(288);
    expect(resolvePlain('0o440')).toBe(288);
    expect(resolvePlain('0x1F')).toBe(31);
    expect(resolvePlain('1_000')).toBe(1000);
    expect(resolvePlain('080')).toBe(80);
    expect(resolvePlain('yes')).toBe('yes');
    expect(resolvePlain('on')).toBe('on');
    expect(resolvePlain('True')).toBe(true);
    expect(resolvePlain('~')).toBeNull();
    expect(resolvePlain('1.5')).toBe(1.5);
    expect(resolvePlain('8080:80')).toBe('8080:80');
  });
});
