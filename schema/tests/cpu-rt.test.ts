import { describe, expect, it } from 'vitest';

import { isTscError } from '../../lib/errors.js';
import { renderConfig } from '../config-output.js';
import { loadProject } from '../load.js';

/** `config`'s YAML for a compose file given on standard input. */
function config(text: string, shell: Record<string, string> = {}): string {
  const r = loadProject({ cwd: '/tmp', files: ['-'], stdin: () => text, shell, projectName: 'rt' });
  return renderConfig(r.tree, 'yaml');
}

function serviceLines(text: string, shell?: Record<string, string>): string[] {
  return config(text, shell)
    .split('\n')
    .filter((l) => l.includes('cpu_rt_'));
}

describe('cpu_rt_runtime and cpu_rt_period: microseconds or a duration', () => {
  it("reads the Compose Specification's own example (`400ms`) as 400000 microseconds", () => {
    const yaml = 'services:\n  web:\n    image: nginx\n    cpu_rt_runtime: 400ms\n    cpu_rt_period: 1400us\n';
    // docker-compose 1.29 prints the same numbers for this file
    expect(serviceLines(yaml)).toEqual(['    cpu_rt_period: 1400', '    cpu_rt_runtime: 400000']);
  });

  it('keeps plain microseconds, written as numbers or strings', () => {
    const yaml = "services:\n  web:\n    image: nginx\n    cpu_rt_runtime: '95000'\n    cpu_rt_period: 1000000\n";
    expect(serviceLines(yaml)).toEqual(['    cpu_rt_period: 1000000', '    cpu_rt_runtime: 95000']);
  });

  it('converts a duration that comes from a variable', () => {
    const yaml = 'services:\n  web:\n    image: nginx\n    cpu_rt_runtime: ${RT}\n';
    expect(serviceLines(yaml, { RT: '1.5s' })).toEqual(['    cpu_rt_runtime: 1500000']);
  });

  it('refuses what is neither, naming the key', () => {
    const yaml = 'services:\n  web:\n    image: nginx\n    cpu_rt_runtime: soon\n';
    let message = '';
    try {
      config(yaml);
    } catch (e) {
      message = isTscError(e) ? e.format() : String(e);
    }
    expect(message).toBe('-:4:5 services.web.cpu_rt_runtime: invalid integer or duration: "soon"');
  });
});
