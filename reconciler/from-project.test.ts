import { describe, expect, it } from 'vitest';

import { loadModel } from '../schema/tests/helpers.js';
import { desiredProject } from './from-project.js';
import { LABEL } from './labels.js';

const yaml = `
services:
  web:
    image: nginx:alpine
    ports: ["8080:80", "127.0.0.1:5353:53/udp"]
    volumes: ["./html:/usr/share/nginx/html:ro", "data:/data", "/anon"]
    networks:
      front: { aliases: [www], priority: 10 }
      back: {}
    depends_on:
      db: { condition: service_healthy }
    restart: on-failure:3
    mem_limit: 512m
    cpus: 1.5
    stop_grace_period: 1m30s
    secrets: [token]
    configs: [{ source: site, target: /etc/site.conf, mode: 0o440 }]
    environment: { A: "1" }
  db:
    image: postgres
    healthcheck: { test: ["CMD-SHELL", "pg_isready"], interval: 10s, retries: 5 }
    deploy: { replicas: 2, restart_policy: { condition: any } }
    networks: [back]
networks:
  front: {}
  back: {}
volumes:
  data: {}
secrets:
  token: { environment: TOKEN }
configs:
  site: { content: "listen 80;" }
`;

describe('desiredProject', () => {
  const { project } = loadModel(yaml);
  const d = desiredProject(project, { environment: { TOKEN: 's3cret' } });
  const web = d.services.find((s) => s.name === 'web');
  const db = d.services.find((s) => s.name === 'db');

  it('names containers, labels them as docker compose does, and hashes their config', () => {
    const spec = web?.container(1);
    expect(spec?.name).toBe(`${project.name}-web-1`);
    expect(spec?.labels).toMatchObject({
      [LABEL.project]: project.name,
      [LABEL.service]: 'web',
      [LABEL.containerNumber]: '1',
      [LABEL.oneoff]: 'False',
      [LABEL.dependsOn]: 'db:service_healthy:false',
      [LABEL.configHash]: web?.configHash,
    });
    expect(web?.configHash).toMatch(/^[0-9a-f]{64}$/);
    expect(db?.scale).toBe(2);
    expect(db?.container(2).name).toBe(`${project.name}-db-2`);
  });

  it('turns the long forms into the agent\'s container spec', () => {
    const spec = web?.container(1);
    expect(spec?.ports).toEqual([
      { target: 80, protocol: 'tcp', hostIp: '', published: '8080' },
      { target: 53, protocol: 'udp', hostIp: '127.0.0.1', published: '5353' },
    ]);
    expect(spec?.mounts).toEqual([
      { type: 'bind', source: '/work/project/html', target: '/usr/share/nginx/html', readOnly: true, createHostPath: true },
      { type: 'volume', source: `${project.name}_data`, target: '/data', readOnly: false },
      { type: 'volume', source: '', target: '/anon', readOnly: false },
      { type: 'file', target: '/run/secrets/token', content: 's3cret' },
      { type: 'file', target: '/etc/site.conf', content: 'listen 80;', mode: 0o440 },
    ]);
    expect(spec?.endpoints.map((e) => [e.network, e.aliases])).toEqual([
      [`${project.name}_front`, ['web', 'www']],
      [`${project.name}_back`, ['web']],
    ]);
    expect(spec?.restartPolicy).toEqual({ name: 'on-failure', maximumRetryCount: 3 });
    expect(spec?.resources).toMatchObject({ memoryBytes: 512 * 1024 * 1024, nanoCpus: 1_500_000_000 });
    expect(spec?.stopGracePeriodMs).toBe(90_000);
    expect(spec?.env).toEqual({ A: '1' });
    expect(db?.container(1).healthcheck).toEqual({ test: ['CMD-SHELL', 'pg_isready'], intervalMs: 10_000, timeoutMs: 0, retries: 5, startPeriodMs: 0, startIntervalMs: 0 });
    expect(db?.container(1).restartPolicy).toEqual({ name: 'always' });
    expect(web?.dependsOn).toEqual([{ service: 'db', condition: 'service_healthy', required: true, restart: false }]);
  });

  it('labels networks and volumes with the project', () => {
    expect(d.networks.map((n) => [n.spec.name, n.spec.labels[LABEL.network]])).toEqual([
      [`${project.name}_front`, 'front'],
      [`${project.name}_back`, 'back'],
    ]);
    expect(d.volumes[0]?.spec).toMatchObject({ name: `${project.name}_data`, driver: 'local', labels: { [LABEL.project]: project.name, [LABEL.volume]: 'data' } });
  });
});

describe('keys this host cannot honour yet', () => {
  it('are each reported once per service, never dropped silently (build is honoured)', () => {
    const { project } = loadModel(`
services:
  app:
    build: ./app
    runtime: nvidia
    logging: { driver: syslog }
  web:
    image: nginx
    volumes_from: [app]
`);
    expect(desiredProject(project).warnings).toEqual([
      'services.app.runtime is not supported yet on this host and is ignored',
      'services.app.logging.driver "syslog" is not supported yet: json-file is used',
    ]);
  });
});

describe('shared namespaces', () => {
  it('turns pid, ipc and uts into namespace modes; service:X names X\'s first container', () => {
    const { project } = loadModel(`
name: p
services:
  db:
    image: busybox
  app:
    image: busybox
    pid: service:db
    ipc: host
    uts: host
    network_mode: service:db
  tool:
    image: busybox
    pid: host
    ipc: shareable
  named:
    image: busybox
    container_name: the-db
  side:
    image: busybox
    ipc: service:named
`, { projectName: 'p' });
    const spec = (name: string) => desiredProject(project).services.find((s) => s.name === name)?.container(1);
    expect(spec('app')).toMatchObject({ pidMode: 'container:p-db-1', ipcMode: 'host', utsMode: 'host', networkMode: 'container:p-db-1' });
    expect(spec('tool')).toMatchObject({ pidMode: 'host' });
    expect(spec('tool')?.ipcMode).toBeUndefined();
    expect(spec('side')).toMatchObject({ ipcMode: 'container:the-db' });
    expect(spec('db')?.pidMode).toBeUndefined();
    expect(desiredProject(project).warnings).toEqual([]);
  });
});

describe('lifecycle hooks and volumes_from', () => {
  const { project } = loadModel(`
services:
  app:
    image: busybox
    container_name: the-app
  web:
    image: busybox
    volumes_from: [app, "app:ro", "container:other:rw"]
    post_start:
      - command: echo "hello world"
        user: root
        working_dir: /tmp
        environment: [A=1, FROM_HOST, UNSET_HERE]
    pre_stop:
      - command: ["sh", "-c", "echo bye"]
        privileged: true
        environment: { X: y }
`);
  const web = desiredProject(project, { environment: { FROM_HOST: 'h' } }).services.find((s) => s.name === 'web');

  it('gives the agent the hooks with their commands split as compose splits them', () => {
    expect(web?.container(1).postStart).toEqual([{ command: ['echo', 'hello world'], user: 'root', workingDir: '/tmp', env: { A: '1', FROM_HOST: 'h' } }]);
    expect(web?.container(1).preStop).toEqual([{ command: ['sh', '-c', 'echo bye'], privileged: true, env: { X: 'y' } }]);
  });

  it('names the containers volumes come from, in order, with their modes', () => {
    expect(web?.container(1).volumesFrom).toEqual(['the-app', 'the-app:ro', 'other:rw']);
  });

  it('no longer reports them as unsupported', () => {
    expect(desiredProject(project).warnings).toEqual([]);
  });
});

describe('unsupported keys asking for what this host does anyway', () => {
  it('are not reported: userns_mode host, this machine\'s platform', () => {
    const own = `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`;
    const other = own === 'linux/s390x' ? 'linux/riscv64' : 'linux/s390x';
    const { project } = loadModel(`
services:
  same:
    image: busybox
    userns_mode: host
    platform: ${own}
  different:
    image: busybox
    platform: ${other}
`);
    expect(desiredProject(project).warnings).toEqual([
      'services.different.platform is not supported yet on this host and is ignored',
    ]);
  });
});

