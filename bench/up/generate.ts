/**
 * The input of the `up` benchmark: a compose file of N identical long-running busybox services on
 * the project's default network. `stop_signal: SIGKILL` because `sleep` as PID 1 ignores
 * SIGTERM: without it both tools would spend `down` waiting out the grace period, which measures
 * the timer, not the orchestrator. The same text is read by docker-compose 1.29 and by us.
 */
export function generateCompose(services: number): string {
  const lines = ['services:'];
  for (let i = 0; i < services; i++) {
    lines.push(`  s${i}:`, '    image: busybox', '    command: ["sleep", "3600"]', '    stop_signal: SIGKILL');
  }
  return `${lines.join('\n')}\n`;
}
