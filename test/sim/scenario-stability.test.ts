// Every shipped scenario keeps the target it had: the same images (code bytes, symbols,
// addresses), the same pool counters and the same PoolHitTag stops (stacks, blocks) for the same
// seed. The digests in test/fixtures/sim-stability/digests.json were recorded before the scenario
// format gained shared call sites, frees in other modules and bursty arrivals; a change of the
// simulator that moves any of them changes what kd prints for a scenario that already existed.
// Three accuracy scenarios (ndis-vendor-suite, storport-cloud-disk, kmdf-fieldbus) were recorded
// again when their tag moved into the calling drivers' code (a site's `tagArgument`).
// To record new digests after a deliberate change of the model: LEAKHUNT_WRITE_DIGESTS=1 npx vitest run test/sim/scenario-stability.test.ts
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { createKernel } from '../../src/sim/kernel/index.js';
import { tagValue } from '../../src/sim/kernel/code.js';
import type { SimKernel } from '../../src/sim/kernel-api.js';
import { loadScenario } from '../../src/sim/scenario.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const digestFile = join(root, 'test', 'fixtures', 'sim-stability', 'digests.json');

// Scenario files under scenarios/ (every folder; a lab inventory is no scenario), relative to the repository.
function scenarioFiles(folder: string): string[] {
  return readdirSync(folder)
    .flatMap((name) => {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) return scenarioFiles(path);
      return name.endsWith('.yaml') && /^profile:/m.test(readFileSync(path, 'utf8')) ? [relative(root, path)] : [];
    })
    .sort();
}

// What a debugger can see of one scenario's target, as a digest: images, counters after a short
// preload, and the first stops on each site's tag.
function targetDigest(file: string): string {
  const scenario = loadScenario(join(root, file));
  const kernel: SimKernel = createKernel({ ...scenario, preloadMs: 90_000 });
  const hash = createHash('sha256');
  const text = (value: unknown) => hash.update(JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? `0x${item.toString(16)}` : item)) + '\n');
  for (const module of kernel.modules()) {
    text({ name: module.name, image: module.image, base: module.base, size: module.size, symbols: module.symbols });
    for (const symbol of module.symbols) hash.update(kernel.readMemory(symbol.address, symbol.size) ?? new Uint8Array());
  }
  text(kernel.tagCounters());
  const tags = [...new Set(scenario.modules.flatMap((module) => module.sites.map((site) => site.tag)))];
  if (kernel.taggingEnabled()) {
    for (const tag of tags) {
      kernel.writeMemory(kernel.resolveSymbol('nt!PoolHitTag')!, Uint8Array.from(Buffer.from(tag, 'latin1')));
      expect(kernel.poolHitTag()).toBe(tagValue(tag));
      for (let stop = 0; stop < 3; stop++) {
        const event = kernel.run(10 * 60_000);
        text(event.kind === 'pool-hit' ? { operation: event.operation, allocation: event.allocation, stack: event.stack } : event);
        if (event.kind !== 'pool-hit') break;
      }
    }
  }
  text(kernel.state(false));
  return hash.digest('hex').slice(0, 24);
}

const files = scenarioFiles(join(root, 'scenarios'));
const recorded = JSON.parse(readFileSync(digestFile, 'utf8')) as Record<string, string>;

describe('shipped scenarios keep their target', () => {
  test('every scenario recorded still exists', () => {
    for (const file of Object.keys(recorded)) expect(files, file).toContain(file);
  });

  test.each(Object.keys(recorded))('%s: same images, counters and stops as recorded', (file) => {
    expect(targetDigest(file)).toBe(recorded[file]);
  });

  // Every function's bytes end before the next one starts, as in a linked image: a function laid
  // out longer than its sizing pass said used to run into the next one, so `ln` and `u` at a frame
  // near its end found the neighbour.
  test.each(files)('%s: no function of any image runs into the next', (file) => {
    const kernel = createKernel({ ...loadScenario(join(root, file)), preloadMs: 0 });
    for (const module of kernel.modules()) {
      const symbols = [...module.symbols].sort((a, b) => (a.address < b.address ? -1 : 1));
      symbols.slice(1).forEach((symbol, index) => {
        const before = symbols[index]!;
        expect(before.address + BigInt(before.size) <= symbol.address, `${module.name}!${before.name} runs into ${symbol.name}`).toBe(true);
      });
    }
  });

  if (process.env.LEAKHUNT_WRITE_DIGESTS === '1') {
    test('record digests', () => {
      const digests = Object.fromEntries(files.map((file) => [file, targetDigest(file)]));
      writeFileSync(digestFile, JSON.stringify(digests, null, 2) + '\n');
    });
  }
});
