/**
 * Benchmark 5: start-up. `leakhunt validate playbooks/find-pool-leak.yaml` wall time as a ratio
 * to `node -e 0`, the two run alternately in the same run so machine load hits both alike.
 */
import { fileURLToPath } from 'node:url';
import { runProcess } from './lib/child.mjs';
import { summarize } from './lib/stats.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));

/**
 * Run the benchmark: one warm-up pair, then 2 × `runs` + 1 alternating pairs (start-up is cheap
 * and the noisiest figure on a shared machine, so it gets more samples).
 */
export async function run({ runs }) {
  const pairs = 2 * runs + 1;
  const validate = () => runProcess(process.execPath, [cli, 'validate', 'playbooks/find-pool-leak.yaml'], { cwd: root });
  const bare = () => runProcess(process.execPath, ['-e', '0'], { cwd: root });
  const first = await validate();
  if (first.code !== 0) throw new Error(`leakhunt validate failed (exit ${first.code}): ${first.stderr || first.stdout}`);
  await bare();
  const validateMs = [];
  const bareMs = [];
  const ratios = [];
  for (let index = 0; index < pairs; index++) {
    const a = await validate();
    const b = await bare();
    validateMs.push(a.wallMs);
    bareMs.push(b.wallMs);
    ratios.push(a.wallMs / b.wallMs);
  }
  return [
    { id: 'startup.ratio', name: 'leakhunt validate find-pool-leak.yaml ÷ node -e 0 (pairwise)', unit: '×', readme: 'Start-up: `leakhunt validate` ÷ `node -e 0`', ...summarize(ratios), goal: { op: '<=', value: 4 } },
    { id: 'startup.validate.ms', name: 'leakhunt validate find-pool-leak.yaml', unit: 'ms', ...summarize(validateMs) },
    { id: 'startup.node.ms', name: 'node -e 0', unit: 'ms', ...summarize(bareMs) },
  ];
}

/** Registry entry for bench/run.mjs. */
export default { id: 'startup', title: '5. Start-up', run };
