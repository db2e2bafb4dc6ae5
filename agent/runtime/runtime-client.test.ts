import { describe, expect, it } from 'vitest';

import { isTscError } from '../../lib/errors.js';
import { createRuntimeClient, runtimeMessage } from './runtime-client.js';

describe('runtimeMessage', () => {
  it("takes runc's last error from its JSON log, without the command prefix", () => {
    const log = [
      '{"level":"warning","msg":"something minor","time":"2026-11-23T10:00:00Z"}',
      '{"level":"error","msg":"runc create failed: unable to start container process: exec: \\"foo\\": executable file not found in $PATH","time":"2026-11-23T10:00:00Z"}',
    ].join('\n');
    expect(runtimeMessage(log)).toBe('unable to start container process: exec: "foo": executable file not found in $PATH');
  });

  it('falls back to the last line of stderr, without the program name', () => {
    expect(runtimeMessage('', 'noise\ntsc-runtime: container does not exist: x\n')).toBe('container does not exist: x');
  });
});

describe('createRuntimeClient', () => {
  it('reports a runtime binary that does not exist', async () => {
    const client = createRuntimeClient({ binary: '/nonexistent/tsc-runtime-missing', root: '/tmp/unused' });
    const err: unknown = await client.state('x').catch((e: unknown) => e);
    expect(isTscError(err, 'ERR_NOT_FOUND')).toBe(true);
    expect((err as Error).message).toBe('container runtime /nonexistent/tsc-runtime-missing not found or not executable');
  });
});
