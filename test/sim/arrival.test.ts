// Per-site arrival: batches from a periodic timer or at random times (device arrivals), and the
// per-site override of poisson / fixed intervals.
import { describe, expect, test } from 'vitest';
import { createKernel } from '../../src/sim/kernel/index.js';
import type { SimKernel } from '../../src/sim/kernel-api.js';
import { parseScenario, validateScenario } from '../../src/sim/scenario.js';

const scenarioText = (arrival: string, rate = '') => `profile: win7-sp1-x64
seed: 3
modules:
  - name: nicteam
    sites:
      - id: probe
        function: NtmAllocateProbePacket
        callers: [nicteam!NtmProbeTimerDpc, nt!KiTimerExpiration, nt!KiRetireDpcList]
        tag: "NtmP"
        pool: nonpaged
        size: 128
        ${rate}
        lifetime: 1h
        arrival: ${arrival}
`;

// The allocation count of a tag at every second of target time, for `seconds`.
function allocsPerSecond(kernel: SimKernel, tag: string, seconds: number): number[] {
  const counts: number[] = [];
  for (let second = 0; second < seconds; second++) {
    kernel.run(1000);
    counts.push(kernel.tagCounters().find((entry) => entry.tag === tag)?.nonpaged.allocs ?? 0);
  }
  return counts;
}

// The seconds at which the count rose, and by how much.
function steps(counts: readonly number[]): { at: number; by: number }[] {
  return counts.flatMap((count, second) => (count > (counts[second - 1] ?? 0) ? [{ at: second, by: count - (counts[second - 1] ?? 0) }] : []));
}

describe('burst arrival', () => {
  test('a timer: 50 allocations at one instant every 60 s, nothing between', () => {
    const scenario = parseScenario(scenarioText('{ every: 60s, batch: 50 }'), 'timer.yaml');
    expect(scenario.modules[0]!.sites[0]!.rate).toBeCloseTo(50 / 60);
    const found = steps(allocsPerSecond(createKernel(scenario), 'NtmP', 300));
    expect(found).toHaveLength(5);
    expect(found.map((step) => step.by)).toEqual([50, 50, 50, 50, 50]);
    expect(found.slice(1).map((step, index) => step.at - found[index]!.at)).toEqual([60, 60, 60, 60]);
  });

  test('spread: a batch of 40 over 20 s arrives two a second', () => {
    const found = steps(allocsPerSecond(createKernel(parseScenario(scenarioText('{ every: 5m, batch: 40, spread: 20s }'), 'spread.yaml')), 'NtmP', 300));
    expect(found.reduce((sum, step) => sum + step.by, 0)).toBe(40);
    expect(found.at(-1)!.at - found[0]!.at).toBeLessThanOrEqual(20);
    expect(found.every((step) => step.by <= 2)).toBe(true);
  });

  test('random batches (device arrivals): sizes within [min, max], gaps that vary around the mean', () => {
    const kernel = createKernel(parseScenario(scenarioText('{ every: 2m, batch: [3, 5], timing: poisson }'), 'hotplug.yaml'));
    kernel.writeMemory(kernel.resolveSymbol('nt!PoolHitTag')!, Uint8Array.from(Buffer.from('NtmP', 'latin1')));
    // Every allocation (and, after an hour, every free) stops the kernel; a batch is the allocations at one instant.
    const batches = new Map<number, number>();
    while (kernel.now() < 3 * 3_600_000) {
      const stop = kernel.run(3 * 3_600_000 - kernel.now());
      if (stop.kind !== 'pool-hit') break;
      if (stop.operation === 'alloc') batches.set(kernel.now(), (batches.get(kernel.now()) ?? 0) + 1);
    }
    expect(batches.size).toBeGreaterThan(45);
    expect(batches.size).toBeLessThan(135);
    for (const [at, size] of batches) expect(size, `at ${at} ms`).toBeGreaterThanOrEqual(3);
    for (const [at, size] of batches) expect(size, `at ${at} ms`).toBeLessThanOrEqual(5);
    expect(new Set(batches.values()).size).toBe(3);
    const starts = [...batches.keys()];
    const gaps = starts.slice(1).map((start, index) => start - starts[index]!);
    expect(Math.min(...gaps)).toBeLessThan(30_000);
    expect(Math.max(...gaps)).toBeGreaterThan(300_000);
  });

  test('PoolHitTag stops on every allocation of a batch, at the batch instant', () => {
    const kernel = createKernel(parseScenario(scenarioText('{ every: 60s, batch: 3 }'), 'timer.yaml'));
    kernel.writeMemory(kernel.resolveSymbol('nt!PoolHitTag')!, Uint8Array.from(Buffer.from('NtmP', 'latin1')));
    const times = [0, 1, 2, 3, 4, 5].map(() => {
      const stop = kernel.run(120_000);
      expect(stop.kind).toBe('pool-hit');
      return kernel.now();
    });
    expect(times[1]).toBe(times[0]);
    expect(times[2]).toBe(times[0]);
    expect(times[3]! - times[0]!).toBe(60_000);
    expect(times[5]).toBe(times[3]);
  });

  test('a per-site fixed arrival overrides the scenario poisson one', () => {
    const counts = allocsPerSecond(createKernel(parseScenario(scenarioText('fixed', 'rate: 2'), 'fixed.yaml')), 'NtmP', 30);
    const perSecond = counts.map((count, second) => count - (counts[second - 1] ?? 0)).slice(1);
    expect(new Set(perSecond)).toEqual(new Set([2]));
  });

  test('problems: rate beside a burst, no rate and no burst, a spread longer than the period, a batch range upside down', () => {
    const problems = (text: string) => validateScenario(text, 'burst.yaml').problems.map(({ code, line, column }) => ({ code, line, column }));
    expect(problems(scenarioText('{ every: 60s, batch: 50 }', 'rate: 2'))).toEqual([{ code: 'SCENARIO_SCHEMA', line: 12, column: 9 }]);
    expect(problems(scenarioText('poisson'))).toEqual([{ code: 'SCENARIO_SCHEMA', line: 6, column: 9 }]);
    expect(problems(scenarioText('{ every: 60s, batch: 5, spread: 2m }'))).toEqual([{ code: 'SCENARIO_BAD_RANGE', line: 14, column: 50 }]);
    expect(problems(scenarioText('{ every: 60s, batch: [9, 3] }'))).toEqual([{ code: 'SCENARIO_BAD_RANGE', line: 14, column: 39 }]);
    expect(problems(scenarioText('{ every: 0s, batch: 2 }'))).toEqual([{ code: 'SCENARIO_BAD_RANGE', line: 14, column: 27 }]);
    expect(problems(scenarioText('{ every: 60s }')).map((problem) => problem.code)).toContain('SCENARIO_SCHEMA');
  });
});
