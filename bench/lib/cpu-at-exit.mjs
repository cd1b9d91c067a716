/**
 * Loaded with `node --import` into the leakhunt process a benchmark measures (never into its
 * children): at exit, writes that process's own CPU time (user + system, seconds) to the file named
 * by LEAKHUNT_BENCH_CPU_FILE, so a lab's controller can be told apart from its simulators.
 */
import { writeFileSync } from 'node:fs';

const file = process.env['LEAKHUNT_BENCH_CPU_FILE'];
if (file) {
  process.on('exit', () => {
    const { user, system } = process.cpuUsage();
    writeFileSync(file, `${JSON.stringify({ userS: user / 1e6, systemS: system / 1e6 })}\n`);
  });
}
