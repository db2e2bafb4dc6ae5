import { describe, expect, it } from 'vitest';

import { applyResetTags, mergeTrees } from './merge.js';
import { parseCompose } from './parse.js';

function parse(text: string, file: string) {
  const [doc] = parseCompose(text, file);
  return doc!;
}

function merge(base: string, override: string) {
  return mergeTrees(parse(base, 'base.yaml'), parse(override, 'override.yaml'));
}

const svc = (body: string): string => `services:\n  web:\n${body.replace(/^/gm, '    ')}\n`;

describe('mergeTrees', () => {
  it.each([
    ['scalars are replaced', svc('image: a\nrestart: always'), svc('image: b'), svc('image: b\nrestart: always')],
    ['mappings merge key by key', svc('image: a\nhealthcheck:\n  interval: 5s\n  retries: 3'), svc('healthcheck:\n  retries: 5'), svc('image: a\nhealthcheck:\n  interval: 5s\n  retries: 5')],
    ['a new service is added', svc('image: a'), 'services:\n  db:\n    image: pg\n', 'services:\n  web:\n    image: a\n  db:\n    image: pg\n'],
    ['command is replaced', svc('command: [a, b]'), svc('command: [c]'), svc('command: [c]')],
    ['entrypoint is replaced', svc('entrypoint: sh -c'), svc('entrypoint: [bash]'), svc('entrypoint: [bash]')],
    ['healthcheck.test is replaced', svc('healthcheck:\n  test: [CMD, a]\n  retries: 2'), svc('healthcheck:\n  test: [CMD, b]'), svc('healthcheck:\n  test: [CMD, b]\n  retries: 2')],
    ['ports are appended, the same mapping kept once', svc('ports: ["3000:3000"]'), svc('ports: ["80:3000", "3000:3000"]'), svc('ports: ["3000:3000", "80:3000"]')],
    [
      'long-form ports are keyed by ip:published:target/protocol',
      svc('ports:\n  - {target: 80, published: "8080", protocol: tcp}\n  - {target: 53, protocol: udp}'),
      svc('ports:\n  - {target: 80, published: "8080", protocol: tcp, mode: host}\n  - {target: 53, protocol: tcp}'),
      svc('ports:\n  - {target: 80, published: "8080", protocol: tcp, mode: host}\n  - {target: 53, protocol: udp}\n  - {target: 53, protocol: tcp}'),
    ],
    ['volumes are keyed by target', svc('volumes: ["./a:/data", "logs:/logs"]'), svc('volumes: ["./b:/data:ro", "/tmp:/tmp"]'), svc('volumes: ["./b:/data:ro", "logs:/logs", "/tmp:/tmp"]')],
    ['long-form volumes are keyed by target', svc('volumes:\n  - {type: bind, source: ./a, target: /data}'), svc('volumes:\n  - {type: volume, source: v, target: /data}'), svc('volumes:\n  - {type: volume, source: v, target: /data}')],
    ['environment lists merge by key', svc('environment: [A=1, B=2]'), svc('environment: [B=3, C=4]'), svc('environment: [A=1, B=3, C=4]')],
    ['environment maps merge', svc('environment: {A: "1", B: "2"}'), svc('environment: {B: "3"}'), svc('environment: {A: "1", B: "3"}')],
    ['environment list onto a map becomes a map', svc('environment: {A: "1"}'), svc('environment: [B=2, C]'), svc('environment: {A: "1", B: "2", C: null}')],
    ['an environment key without a value replaces the earlier value', svc('environment: {A: "1", B: "2"}'), svc('environment: {A: null}'), svc('environment: {A: null, B: "2"}')],
    ['labels merge as maps', svc('labels: [a=1]'), svc('labels: {b: "2"}'), svc('labels: {a: "1", b: "2"}')],
    ['other sequences are appended', svc('cap_add: [NET_ADMIN]\nsecurity_opt: [a]'), svc('cap_add: [NET_ADMIN, SYS_TIME]\nsecurity_opt: [a]'), svc('cap_add: [NET_ADMIN, SYS_TIME]\nsecurity_opt: [a, a]')],
    ['dns: a string is a one-item list', svc('dns: 8.8.8.8'), svc('dns: [1.1.1.1]'), svc('dns: [8.8.8.8, 1.1.1.1]')],
    ['build: a string is a context', svc('build: ./app'), svc('build:\n  dockerfile: Dev.Dockerfile'), svc('build:\n  context: ./app\n  dockerfile: Dev.Dockerfile')],
    ['depends_on short and long forms merge', svc('depends_on: [db]'), svc('depends_on:\n  cache:\n    condition: service_healthy'), svc('depends_on:\n  db: {condition: service_started, required: true}\n  cache: {condition: service_healthy}')],
    ['service networks: lists become maps', svc('networks: [front]'), svc('networks:\n  back:\n    aliases: [b]'), svc('networks:\n  front: null\n  back:\n    aliases: [b]')],
    ['logging with the same driver merges options', svc('logging:\n  driver: json-file\n  options: {max-size: 10m}'), svc('logging:\n  options: {max-file: "3"}'), svc('logging:\n  driver: json-file\n  options: {max-size: 10m, max-file: "3"}')],
    ['logging with another driver is replaced', svc('logging:\n  driver: json-file\n  options: {max-size: 10m}'), svc('logging:\n  driver: syslog'), svc('logging:\n  driver: syslog')],
    ['ulimits: a number replaces a mapping', svc('ulimits:\n  nofile: {soft: 1, hard: 2}'), svc('ulimits:\n  nofile: 5'), svc('ulimits:\n  nofile: 5')],
    ['extra_hosts union', svc('extra_hosts: ["a:1.1.1.1"]'), svc('extra_hosts: ["a:1.1.1.1", "b:2.2.2.2"]'), svc('extra_hosts: ["a:1.1.1.1", "b:2.2.2.2"]')],
    ['secrets keyed by target', svc('secrets: [a, {source: b, target: /x}]'), svc('secrets: [a, {source: c, target: /x}]'), svc('secrets: [a, {source: c, target: /x}]')],
    ['a null override keeps the base', svc('image: a\nenvironment: [A=1]'), svc('environment:'), svc('image: a\nenvironment: [A=1]')],
    ['!reset removes the inherited value', svc('image: a\nports: ["80:80"]'), svc('ports: !reset []'), svc('image: a')],
    ['!reset on a whole service', 'services:\n  a: {image: x}\n  b: {image: y}\n', 'services:\n  b: !reset\n', 'services:\n  a: {image: x}\n'],
    ['!override replaces instead of merging', svc('ports: ["80:80"]\nenvironment: {A: "1"}'), svc('ports: !override ["81:81"]\nenvironment: !override {B: "2"}'), svc('ports: ["81:81"]\nenvironment: {B: "2"}')],
    ['x- keys are replaced, not merged', 'x-common: {a: 1, b: 2}\n', 'x-common: {b: 3}\n', 'x-common: {b: 3}\n'],
    ['top-level resources merge', 'networks:\n  front: {driver: bridge}\nvolumes:\n  data:\n', 'networks:\n  front: {internal: true}\nvolumes:\n  data: {driver: local}\n', 'networks:\n  front: {driver: bridge, internal: true}\nvolumes:\n  data: {driver: local}\n'],
    ['ipam config keyed by subnet', 'networks:\n  n:\n    ipam:\n      config: [{subnet: 10.0.0.0/24}]\n', 'networks:\n  n:\n    ipam:\n      config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.1}, {subnet: 10.1.0.0/24}]\n', 'networks:\n  n:\n    ipam:\n      config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.1}, {subnet: 10.1.0.0/24}]\n'],
    ['the top-level name is replaced', 'name: a\n', 'name: b\n', 'name: b\n'],
  ])('%s', (_title, base, override, expected) => {
    expect(merge(base, override).tree).toEqual(parse(expected, 'expected.yaml').tree);
  });

  it('leaves both inputs unchanged', () => {
    const b = parse(svc('image: a\nports: ["1:1"]'), 'b');
    const o = parse(svc('ports: ["2:2"]'), 'o');
    mergeTrees(b, o);
    expect(b.tree).toEqual(parse(svc('image: a\nports: ["1:1"]'), 'x').tree);
    expect(o.tree).toEqual(parse(svc('ports: ["2:2"]'), 'x').tree);
  });

  it('gives each merged key the position of the file it came from', () => {
    const { positions } = merge(svc('image: a\nports: ["1:1"]\nenvironment: {A: "1"}'), `# comment\n${svc('image: b\nports: ["2:2"]\nenvironment: [B=2]')}`);
    expect(positions.get('services.web.image')).toEqual({ file: 'override.yaml', line: 4, col: 5 });
    expect(positions.get('services.web.ports[0]')).toEqual({ file: 'base.yaml', line: 4, col: 13 });
    expect(positions.get('services.web.ports[1]')).toEqual({ file: 'override.yaml', line: 5, col: 13 });
    expect(positions.get('services.web.environment.B')).toEqual({ file: 'override.yaml', line: 6, col: 19 });
    expect(positions.get('services.web')).toEqual({ file: 'base.yaml', line: 2, col: 3 });
  });

  it('drops !reset values of a file merged onto nothing', () => {
    expect(applyResetTags(parse(svc('image: a\nports: !reset ["1:1"]'), 'c'))).toEqual(parse(svc('image: a'), 'c').tree);
  });
});
