/**
 * Prints how many simulated pool allocations the kernel model generates per CPU second, for a
 * busy scenario advanced in bulk (PoolHitTag matching nothing) and while PoolHitTag matches a tag.
 * A benchmark, not a test: it prints figures and never fails on time.
 *
 * Run (bench/ is outside tsconfig's include):
 *   npx tsc --outDir .bench --module NodeNext --moduleResolution NodeNext --target ES2022 --types node bench/sim-throughput.ts
 *   node .bench/bench/sim-throughput.js
 */
import { existsSync } from 'node:fs';
import { cpuUsage } from 'node:process';
import { createKernel } from '../src/sim/kernel/index.js';
import { loadScenario } from '../src/sim/scenario.js';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

// A ready scenario, found by walking up from this file (bench/ or a compiled copy of it).
function scenarioPath(name: string): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5 && !existsSync(join(folder, 'scenarios', name)); depth++) folder = dirname(folder);
  return join(folder, 'scenarios', name);
}

// Total allocations the counters saw.
function totalAllocs(kernel: ReturnType<typeof createKernel>): number {
  return kernel.state(false).tags.reduce((sum, entry) => sum + entry.paged.allocs + entry.nonpaged.allocs, 0);
}

// CPU seconds spent in a callback.
function measure(work: () => void): number {
  const start = cpuUsage();
  work();
  const used = cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

const scenario = loadScenario(scenarioPath('busy-no-leak.yaml'));
scenario.preloadMs = 0;

const bulk = createKernel(scenario);
const bulkSeconds = measure(() => bulk.run(2 * 3_600_000));
const bulkAllocs = totalAllocs(bulk);
console.log(`bulk:     ${bulkAllocs} allocations in ${bulkSeconds.toFixed(2)} CPU s = ${Math.round(bulkAllocs / bulkSeconds).toLocaleString('en-US')} allocations per CPU second`);

const hunting = createKernel(scenario);
const hitAddress = hunting.resolveSymbol('nt!PoolHitTag')!;
hunting.writeMemory(hitAddress, Uint8Array.from(Buffer.from('DxgK', 'latin1')));
let breaks = 0;
const huntSeconds = measure(() => {
  while (hunting.now() < 600_000) {
    if (hunting.run(600_000 - hunting.now()).kind === 'pool-hit') breaks++;
  }
});
const huntAllocs = totalAllocs(hunting);
console.log(`hit tag:  ${huntAllocs} allocations and ${breaks} breaks in ${huntSeconds.toFixed(2)} CPU s = ${Math.round(huntAllocs / huntSeconds).toLocaleString('en-US')} allocations per CPU second`);
console.log(`memory:   ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB heap after both runs`);
