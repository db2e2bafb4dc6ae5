import { describe, expect, it } from 'vitest';

import { loadError, loadModel, service } from './helpers.js';

describe('depends_on', () => {
  it('turns a list into service_started, required (three-tier seed)', () => {
    const yaml = 'services:\n  web:\n    image: nginx\n    depends_on:\n      - app\n  app:\n    image: a\n    depends_on:\n      db:\n        condition: service_healthy\n  db:\n    image: p\n';
    expect(service(yaml, 'web').depends_on).toEqual({ app: { condition: 'service_started', required: true } });
    expect(service(yaml, 'app').depends_on).toEqual({ db: { condition: 'service_healthy', required: true } });
  });

  it('keeps restart and required: false', () => {
    const yaml = 'services:\n  a:\n    image: a\n    depends_on:\n      b: {condition: service_completed_successfully, restart: true}\n      c: {condition: service_started, required: false}\n  b:\n    image: b\n';
    expect(service(yaml, 'a').depends_on).toEqual({
      b: { condition: 'service_completed_successfully', restart: true, required: true },
      c: { condition: 'service_started', required: false },
    });
  });

  it('adds the implicit dependencies of links, network_mode: service: and volumes_from', () => {
    const yaml = 'services:\n  a:\n    image: a\n    links: ["b:alias"]\n    network_mode: "service:c"\n    volumes_from: [d, "container:xyz"]\n  b: {image: b}\n  c: {image: c}\n  d: {image: d}\n';
    expect(service(yaml, 'a').depends_on).toEqual({
      b: { condition: 'service_started', restart: true, required: true },
      c: { condition: 'service_started', restart: true, required: true },
      d: { condition: 'service_started', required: true },
    });
  });

  it('rejects an undefined service, unless the dependency is optional', () => {
    expect(loadError('services:\n  web:\n    image: x\n    depends_on:\n      - db\n')).toBe(
      'compose.yaml:5:9 services.web.depends_on.db: service "web" depends on undefined service "db": invalid compose project',
    );
    expect(loadModel('services:\n  web:\n    image: x\n    depends_on:\n      db: {condition: service_started, required: false}\n').tree).toBeDefined();
    expect(loadError('services:\n  web:\n    image: x\n    network_mode: "service:vpn"\n')).toBe(
      "compose.yaml:4:5 services.web.network_mode: service \"vpn\" not found for network_mode 'service:vpn'",
    );
  });

  it('rejects an unknown condition with the allowed ones', () => {
    expect(loadError('services:\n  web:\n    image: x\n    depends_on:\n      db:\n        condition: healthy\n  db:\n    image: y\n')).toBe(
      'compose.yaml:6:9 services.web.depends_on.db.condition: must be one of the following: "service_started", "service_healthy", "service_completed_successfully"',
    );
  });
});
