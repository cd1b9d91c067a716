/**
 * Benchmark 6: simulated allocations per CPU second through the kernel model's workload
 * generator (src/sim/kernel): a kernel booted with pool tagging on runs hours of target time
 * with PoolHitTag matching nothing (the bulk path a hunt's `g` between samples takes), and
 * the allocations its tag counters gained are divided by the CPU time (process.cpuUsage).
 * A second figure runs the step-by-step path: PoolHitTag on the leaking tag, one stop per hit.
 */
import { fileURLToPath } from 'node:url';
import { runWorker } from './lib/child.mjs';
import { cpuMs, summarize } from './lib/stats.mjs';

const scenarioFiles = ['scenarios/default.yaml', 'scenarios/busy-no-leak.yaml'];

// Allocations and frees of every tag counter, summed over both pools.
function totals(kernel) {
  let allocs = 0;
  let frees = 0;
  for (const counter of kernel.tagCounters()) {
    allocs += counter.paged.allocs + counter.nonpaged.allocs;
    frees += counter.paged.frees + counter.nonpaged.frees;
  }
  return { allocs, frees };
}

/** Worker tasks (each run in a fresh process by runWorker). */
export const tasks = {
  // Bulk: run target time in one call, nothing to stop on.
  async bulk({ file, targetHours }) {
    const { loadScenario } = await import(new URL('../dist/src/sim/scenario.js', import.meta.url));
    const { createKernel } = await import(new URL('../dist/src/sim/kernel/index.js', import.meta.url));
    const scenario = loadScenario(fileURLToPath(new URL(`../${file}`, import.meta.url)));
    scenario.registry.globalFlag |= 0x400;
    scenario.preloadMs = 0;
    const kernel = createKernel(scenario);
    const before = totals(kernel);
    const cpu = cpuMs();
    const stop = kernel.run(targetHours * 3_600_000);
    const cpuSpent = cpuMs() - cpu;
    const after = totals(kernel);
    return { allocs: after.allocs - before.allocs, frees: after.frees - before.frees, cpuMs: cpuSpent, stop: stop.kind, profile: scenario.profile };
  },
  // Stepping: PoolHitTag on the first site's tag, run to each stop, `count` times.
  async hits({ file, count }) {
    const { loadScenario } = await import(new URL('../dist/src/sim/scenario.js', import.meta.url));
    const { createKernel, tagValue } = await import(new URL('../dist/src/sim/kernel/index.js', import.meta.url));
    const scenario = loadScenario(fileURLToPath(new URL(`../${file}`, import.meta.url)));
    scenario.registry.globalFlag |= 0x400;
    scenario.preloadMs = 0;
    const kernel = createKernel(scenario);
    const tag = scenario.modules[0].sites[0].tag;
    const address = kernel.resolveSymbol('nt!PoolHitTag');
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, tagValue(tag), true);
    kernel.writeMemory(address, bytes);
    const before = totals(kernel);
    let stops = 0;
    const cpu = cpuMs();
    for (let index = 0; index < count; index++) {
      const stop = kernel.run(3_600_000);
      if (stop.kind !== 'pool-hit') break;
      stops++;
    }
    const cpuSpent = cpuMs() - cpu;
    const after = totals(kernel);
    return { stops, allocs: after.allocs - before.allocs, cpuMs: cpuSpent, tag };
  },
};

/** Run the benchmark: `runs` fresh processes per scenario and path. */
export async function run({ runs }) {
  const rows = [];
  for (const file of scenarioFiles) {
    const bulk = [];
    for (let index = 0; index < runs; index++) bulk.push(await runWorker(import.meta.url, 'bulk', { file, targetHours: file.includes('default') ? 6 : 2 }));
    rows.push({
      id: `sim.bulk.${file.split('/').pop().replace('.yaml', '')}`,
      name: `kernel model, PoolHitTag idle: allocations per CPU second (${file})`,
      unit: 'allocs/CPU s',
      readme: `Simulator: allocations per CPU second (${file})`,
      ...summarize(bulk.map((r) => r.allocs / (r.cpuMs / 1000))),
      goal: { op: '>=', value: 1_000_000 },
      detail: { allocsPerRun: bulk[0].allocs, freesPerRun: bulk[0].frees, cpuMs: summarize(bulk.map((r) => r.cpuMs)), profile: bulk[0].profile },
    });
  }
  const hits = [];
  for (let index = 0; index < runs; index++) hits.push(await runWorker(import.meta.url, 'hits', { file: scenarioFiles[0], count: 20_000 }));
  rows.push({
    id: 'sim.hits.default',
    name: `kernel model, PoolHitTag on '${hits[0].tag.trim()}': stops per CPU second (${scenarioFiles[0]})`,
    unit: 'stops/CPU s',
    ...summarize(hits.map((r) => r.stops / (r.cpuMs / 1000))),
    detail: { stopsPerRun: hits[0].stops, allocsPerRun: hits[0].allocs, allocsPerCpuSecond: summarize(hits.map((r) => r.allocs / (r.cpuMs / 1000))) },
  });
  return rows;
}

/** Registry entry for bench/run.mjs. */
export default { id: 'sim', title: '6. Simulator', run };
