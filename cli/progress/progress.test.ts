import { PassThrough } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { plainReporter } from './plain.js';
import { applyEvent, elapsed, emptyModel, heading } from './tty-model.js';

describe('progress', () => {
  it('prints plain lines the way docker compose does', () => {
    const out = new PassThrough();
    const r = plainReporter(out);
    r.emit({ id: 'Network p_default', status: 'Creating', state: 'working' });
    r.emit({ id: 'Network p_default', status: 'Created', state: 'done' });
    r.emit({ id: 'Container p-web-1', status: 'Error', state: 'error', text: 'exec: "nope": executable file not found in $PATH' });
    expect(out.read().toString()).toBe(
      ' Network p_default  Creating\n Network p_default  Created\n Container p-web-1  Error exec: "nope": executable file not found in $PATH\n',
    );
  });

  it('keeps one line per resource with its time, layers under their image', () => {
    let m = emptyModel();
    m = applyEvent(m, { id: 'Container p-db-1', status: 'Creating', state: 'working' }, 1000);
    m = applyEvent(m, { id: 'Container p-web-1', status: 'Creating', state: 'working' }, 1100);
    m = applyEvent(m, { id: 'Container p-db-1', status: 'Started', state: 'done' }, 1600);
    m = applyEvent(m, { id: 'Image busybox', status: 'Pulling', state: 'working' }, 1700);
    m = applyEvent(m, { id: 'aa11', parentId: 'Image busybox', status: 'Downloading', state: 'working', current: 10, total: 20 }, 1700);
    expect(m.order).toEqual(['Container p-db-1', 'Container p-web-1', 'Image busybox']);
    expect(m.lines.get('Image busybox')?.children).toEqual(['aa11']);
    expect(heading(m)).toBe('[+] Running 1/3');
    const db = m.lines.get('Container p-db-1');
    expect(db === undefined ? '' : elapsed(db, 9999)).toBe('0.6s');
  });
});
