/**
 * The differential suite: the same bundle under runc and under tsc-runtime, comparing what the
 * process inside sees. Each case runs a script in both and expects the same output.
 */
import { execFileSync } from 'node:child_process';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { command, describePrivileged, root } from '../../test/support/privileged.js';
import { leftoverCgroups, RUNC, runScript, setupHarness } from './testing/harness.js';
import type { Harness, ScriptResult } from './testing/harness.js';
import type { Spec } from './spec.js';

describePrivileged('tsc-runtime against runc', [root, command(RUNC), command('cc'), command('make'), command('ip')], () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setupHarness();
  });
  afterAll(async () => {
    await h?.cleanup();
  });

  /** Runs the script under both runtimes; returns [runc, ours]. */
  async function both(script: string, edit?: (s: Spec) => void): Promise<[ScriptResult, ScriptResult]> {
    const r = await runScript(h, h.runc, script, edit);
    const t = await runScript(h, h.ours, script, edit);
    expect(leftoverCgroups(r.id)).toEqual([]);
    expect(leftoverCgroups(t.id)).toEqual([]);
    return [r, t];
  }

  it('sees the same identity, capabilities, hostname, pid and environment with Docker defaults', async () => {
    const [r, t] = await both(
      'id; grep -E "^(Cap|NoNewPrivs)" /proc/self/status; hostname; echo pid=$$; env | sort; umask; pwd; cat /proc/self/oom_score_adj; ulimit -n; cat /sys/class/net/lo/operstate',
    );
    expect(t.out).toContain('uid=0(root) gid=0(root)');
    expect(t.out).toContain('CapBnd:\t00000000a80425fb');
    expect(t.out).toContain('pid=1');
    expect(t.out).toContain('box');
    expect(t.out).toBe(r.out);
    expect([r.code, t.code]).toEqual([0, 0]);
  });

  it('sees the same mounts, with the same options', async () => {
    const [r, t] = await both('cut -d" " -f5,6 /proc/self/mountinfo; ls /dev /sys/fs/cgroup');
    expect(t.out).toContain('/proc/sys ro,');
    expect(t.out).toContain('/ ro,');
    expect(t.out).toBe(r.out);
  });

  it('masks and write-protects the same paths', async () => {
    const script = [
      'for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do [ -e $p ] && { cat $p >/dev/null 2>&1; echo "$p $(wc -c < $p)"; }; done',
      'ls /sys/firmware | wc -l',
      'for p in /proc/sys/kernel/hostname /proc/sysrq-trigger /proc/irq; do touch $p 2>/dev/null && echo "$p writable" || echo "$p read-only"; done',
      'echo x > /etc/x 2>/dev/null && echo root writable || echo root read-only',
    ].join('; ');
    const [r, t] = await both(script);
    expect(t.out).toContain('/proc/sys/kernel/hostname read-only');
    expect(t.out).toContain('root read-only');
    expect(t.out).toBe(r.out);
  });

  it('runs as the given user with its groups, cwd, umask and env', async () => {
    const edit = (s: Spec): void => {
      s.process.user = { uid: 1000, gid: 1000, additionalGids: [5, 65534], umask: 0o077 };
      s.process.cwd = '/tmp';
      s.process.env = ['PATH=/bin', 'FOO=bar baz'];
    };
    const [r, t] = await both('id; pwd; umask; echo "$FOO" "$HOME"; grep -E "^Cap(Eff|Prm)" /proc/self/status', edit);
    expect(t.out).toContain('uid=1000(app) gid=1000(app) groups=5(tty),65534(nogroup)');
    expect(t.out).toContain('bar baz /home/app');
    expect(t.out).toBe(r.out);
  });

  it('reads config.json strings the same way (escapes, unicode, quotes)', async () => {
    // JSON.stringify writes \", \\, \t, \n and \u0007 escapes; UTF-8 passes through
    const values = ['caf\u00e9 \u{1f600}', 'back\\slash "quoted" tab\there', 'line1\nline2\u0007', '$HOME literal'];
    const [r, t] = await both('printf "%s|" "$A" "$B" "$C" "$D"', (s) => {
      s.process.env = ['PATH=/bin', ...values.map((v, i) => `${'ABCD'[i] ?? 'X'}=${v}`)];
    });
    expect(t.out).toBe(`${values.join('|')}|`);
    expect(t.out).toBe(r.out);
  });

  it('adds and drops capabilities, with no_new_privileges', async () => {
    const edit = (s: Spec): void => {
      const caps = ['CAP_CHOWN', 'CAP_SYS_ADMIN', 'CAP_NET_ADMIN'];
      s.process.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: ['CAP_NET_ADMIN'] };
      s.process.noNewPrivileges = true;
    };
    const [r, t] = await both('grep -E "^(Cap|NoNewPrivs)" /proc/self/status', edit);
    expect(t.out).toContain('NoNewPrivs:\t1');
    expect(t.out).toContain('CapBnd:\t0000000000201001');
    expect(t.out).toBe(r.out);
  });

  it('applies rlimits, sysctls and oom_score_adj', async () => {
    const edit = (s: Spec): void => {
      s.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 321, hard: 654 }];
      s.process.oomScoreAdj = 123;
      if (s.linux) s.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
    };
    const [r, t] = await both('ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj /proc/sys/net/ipv4/ip_forward', edit);
    expect(t.out).toBe('321\n654\n123\n1\n');
    expect(t.out).toBe(r.out);
  });

  it('sets the domain name (runc 1.1 predates it, so ours alone)', async () => {
    const t = await runScript(h, h.ours, 'cat /proc/sys/kernel/domainname', (s) => {
      s.domainname = 'example.test';
    });
    expect(t.out).toBe('example.test\n');
  });

  it('returns the same exit codes', async () => {
    const [r, t] = await both('exit 7');
    expect([r.code, t.code]).toEqual([7, 7]);
  });

  it('enforces the same memory limit: the process is OOM-killed (137)', async () => {
    const edit = (s: Spec): void => {
      if (s.linux?.resources) s.linux.resources.memory = { limit: 16 * 1024 * 1024 };
    };
    const [r, t] = await both('cat /sys/fs/cgroup/memory/memory.limit_in_bytes; dd if=/dev/zero of=/dev/null bs=64M count=1; echo dd=$?', edit);
    expect(t.out).toContain('16777216');
    expect(t.out).toMatch(/Killed|dd=137/);
    expect(t.out.split('\n')[0]).toBe(r.out.split('\n')[0]);
  });

  it('enforces the same pids limit', async () => {
    const edit = (s: Spec): void => {
      if (s.linux?.resources) s.linux.resources.pids = { limit: 8 };
    };
    // a child shell forks until refused; then only builtins, since nothing more can fork
    const script = 'cat /sys/fs/cgroup/pids/pids.max; sh -c "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 5 & done" 2>/dev/null; read n < /sys/fs/cgroup/pids/pids.current; echo running=$n';
    const [r, t] = await both(script, edit);
    expect(t.out).toMatch(/^8\n/);
    const running = (s: string): number => Number(/running=(\d+)/.exec(s)?.[1]);
    expect(running(t.out)).toBeLessThanOrEqual(8);
    expect(running(t.out)).toBe(running(r.out));
  });

  it('joins a network namespace given by path', async () => {
    const ns = `tsc-rt-ns-${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      execFileSync('ip', ['-n', ns, 'link', 'add', 'tscveth0', 'type', 'veth', 'peer', 'name', 'tscveth1']);
      const edit = (s: Spec): void => {
        if (s.linux) s.linux.namespaces = s.linux.namespaces?.map((n) => (n.type === 'network' ? { type: 'network', path: `/run/netns/${ns}` } : n));
      };
      const [r, t] = await both('ls /sys/class/net', edit);
      expect(t.out).toContain('tscveth0');
      expect(t.out).toBe(r.out);
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });

  it('roots a cgroup namespace at the container cgroup', async () => {
    const [r, t] = await both('cat /proc/self/cgroup; ls /sys/fs/cgroup/memory | grep -c limit_in_bytes', (s) => {
      s.linux?.namespaces?.push({ type: 'cgroup' });
    });
    expect(t.out).toMatch(/:memory:\/\n/);
    expect(t.out).toBe(r.out);
  });

  it('maps users in a user namespace', async () => {
    const edit = (s: Spec): void => {
      s.linux?.namespaces?.push({ type: 'user' });
      if (s.linux) {
        s.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
        s.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      }
    };
    const [r, t] = await both('id -u; cat /proc/self/uid_map /proc/self/gid_map; ls -ln /bin/busybox | cut -c1-30', edit);
    expect(t.out).toMatch(/^0\n\s+0\s+200000\s+65536\n/);
    expect(t.out).toBe(r.out);
  });
});
