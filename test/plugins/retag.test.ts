// pool.retag-sites on the simulator: two allocation sites share a tag, only one leaks; retagging
// tells them apart, patches the matching free sites, and restores every byte.
import { afterEach, describe, expect, test } from 'vitest';
import { collectStacksClassic, collectStacksSegmentHeap } from '../../plugins/pool/collect-stacks.js';
import { hitTag } from '../../plugins/pool/hit-tag.js';
import { retagArm64, retagX64, retagX86 } from '../../plugins/pool/retag-sites.js';
import type { Scenario } from '../../src/sim/scenario.js';
import { openBench, type Bench } from './harness.js';

let bench: Bench | undefined;
afterEach(async () => {
  await bench?.close();
  bench = undefined;
});

// A second, balanced allocation site under the same tag in the same driver.
function addBalancedSite(scenario: Scenario): void {
  const driver = scenario.modules[0]!;
  const leaky = driver.sites[0]!;
  driver.sites.push({
    ...leaky,
    id: 'buf',
    function: 'AbcAllocateBuffer',
    callers: [{ module: driver.name, function: 'AbcDispatchWrite' }, ...leaky.callers.slice(1)],
    leak: 0,
    free: { function: 'AbcFreeBuffer', callers: [{ module: driver.name, function: 'AbcCompleteWrite' }] },
  });
}

describe.each(['winxp-sp3-x86', 'win7-sp1-x86', 'win81-x64', 'win11-24h2-x64'])('pool.retag-sites on %s', (profile) => {
  test('the leaking site keeps its retagged allocations, the balanced one does not; all bytes restored', async () => {
    bench = await openBench({ profile, taggingOn: true, edit: addBalancedSite });
    await bench.run(hitTag, { action: 'set', tag: 'Abc' });
    const collector = bench.facts.pool.allocator === 'segment-heap' ? collectStacksSegmentHeap : collectStacksClassic;
    const collected = await bench.run(collector, { tag: 'Abc', count: 60, timeout: '30s' }, { id: 'collect' });
    const sites = (collected.outputs as { sites: { kind: string; function?: string }[] }).sites;
    expect(sites.filter((s) => s.kind === 'alloc').map((s) => s.function).sort()).toEqual(['AbcAllocateBuffer', 'AbcAllocateContext']);
    await bench.run(hitTag, { action: 'clear' });

    const retag = bench.facts.os.arch === 'x86' ? retagX86 : retagX64;
    const result = await bench.run(retag, { tag: 'Abc', sites: sites as never, duration: 300 }, { id: 'retag' });
    const out = result.outputs as { sites: { function: string; retag: string; patched: string[]; outstanding: number; outstandingBytes: number }[]; restored: boolean; warnings: string[] };
    const byFunction = Object.fromEntries(out.sites.map((s) => [s.function, s]));
    expect(byFunction.AbcAllocateContext!.patched.length).toBe(2);
    expect(byFunction.AbcAllocateBuffer!.patched.length).toBe(2);
    expect(byFunction.AbcAllocateContext!.retag).not.toBe(byFunction.AbcAllocateBuffer!.retag);
    expect(byFunction.AbcAllocateContext!.retag).toMatch(/^Abc[1-9A-Z]$/);
    expect(byFunction.AbcAllocateContext!.outstanding).toBeGreaterThan(4 * Math.max(1, byFunction.AbcAllocateBuffer!.outstanding));
    expect(byFunction.AbcAllocateContext!.outstandingBytes).toBe(byFunction.AbcAllocateContext!.outstanding * 932);
    expect(out.warnings).toEqual([]);
    expect(bench.kernel.patchedBytes()).toEqual([]);
    expect(bench.memory.pending()).toEqual([]);
    expect(bench.session.running).toBe(false);
  });
});

describe('pool.retag-sites refusals', () => {
  test('ARM64 fails with an explanation instead of patching', async () => {
    bench = await openBench({ profile: 'win11-24h2-x64' });
    await expect(bench.run(retagArm64, { tag: 'Abc', sites: [] })).rejects.toMatchObject({ code: 'RETAG_UNSUPPORTED_ARCH', message: expect.stringMatching(/movz\/movk/) });
  });

  test('no site with a return address: skipped, nothing written', async () => {
    bench = await openBench({ profile: 'win7-sp1-x64' });
    const result = await bench.run(retagX64, { tag: 'Abc', sites: [] });
    expect(result.status).toBe('skipped');
    expect(bench.memory.pending()).toEqual([]);
  });
});
