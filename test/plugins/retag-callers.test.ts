// pool.retag-sites on a wrapper whose tag is its callers' argument (NdisAllocateMemoryWithTagPriority):
// the wrapper's call passes a register, so each calling driver's path is retagged at the
// immediate before that driver's call into the wrapper; only that driver's allocations move,
// each driver's new tag is counted apart, and every byte comes back.
import { afterEach, describe, expect, test } from 'vitest';
import { collectStacksClassic } from '../../plugins/pool/collect-stacks.js';
import { hitTag } from '../../plugins/pool/hit-tag.js';
import { retagX64, retagX86 } from '../../plugins/pool/retag-sites.js';
import { parseScenario, type Scenario } from '../../src/sim/scenario.js';
import { openBench, type Bench } from './harness.js';

let bench: Bench | undefined;
afterEach(async () => {
  await bench?.close();
  bench = undefined;
});

// Three drivers of one vendor allocate through one NDIS call under "Nrv "; the filter's path leaks.
const suite = (profile: string) =>
  parseScenario(
    `profile: ${profile}
modules:
  - name: ndis
    sites:
      - id: rsc
        function: NdisAllocateMemoryWithTagPriority
        offset: 0x5c
        callers: [nrvmp!NrvRscAllocateCoalesceContext+0x2e, nrvmp!NrvRxIndicate+0x1b3, ndis!ndisMiniportDpc+0xe2]
        tag: "Nrv "
        tagArgument: {}
        pool: nonpaged
        size: 256
        rate: 30
        lifetime: [1ms, 20ms]
        free: { function: NdisFreeMemory, offset: 0x1f, call: ExFreePool, callers: [nrvmp!NrvRscFlushContext+0x41] }
      - id: qos
        function: NdisAllocateMemoryWithTagPriority
        offset: 0x5c
        callers: [nrvlwf!NrvQosCreateFlowEntry+0x44, nrvlwf!NrvQosClassifySend+0x1e7, ndis!ndisFilterSendNetBufferLists+0x9d]
        tag: "Nrv "
        tagArgument: {}
        pool: nonpaged
        size: 320
        rate: 10
        lifetime: [1ms, 20ms]
        leak: 0.3
        free: { function: NdisFreeMemory, offset: 0x1f, call: ExFreePool, callers: [nrvlwf!NrvQosDeleteFlowEntry+0x5b] }
      - id: wake
        function: NdisAllocateMemoryWithTagPriority
        offset: 0x5c
        callers: [nrvpm!NrvPmAddWakePattern+0x3a, nrvpm!NrvPmOidRequest+0x11f, ndis!ndisFDoOidRequestInternal+0x2c4]
        tag: "Nrv "
        tagArgument: { position: 5 }
        pool: nonpaged
        size: 128
        rate: 10
        lifetime: [1ms, 20ms]
        free: { function: NdisFreeMemory, offset: 0x1f, call: ExFreePool, callers: [nrvpm!NrvPmRemoveWakePattern+0x29] }
`,
    'suite.yaml',
  );

// The default scenario's drivers replaced by the vendor suite.
const withSuite = (profile: string) => (scenario: Scenario) => {
  const parsed = suite(profile);
  scenario.modules = parsed.modules;
  scenario.preloadMs = 60_000;
};

interface RetagOut {
  sites: { frame: string; culprit?: { frame: string }; retag: string; patched: string[]; outstanding: number; allocs?: number }[];
  warnings: string[];
  restored: boolean;
}

// Collect stacks on "Nrv " and retag what was seen.
async function collectAndRetag(profile: string, before?: (bench: Bench, sites: { kind: string; paths?: Record<string, { culprit: { frame: string; returnAddress?: string } }> }[]) => void): Promise<RetagOut> {
  bench = await openBench({ profile, taggingOn: true, edit: withSuite(profile) });
  await bench.run(hitTag, { action: 'set', tag: 'Nrv' });
  const collected = await bench.run(collectStacksClassic, { tag: 'Nrv', count: 80, timeout: '60s' }, { id: 'collect' });
  await bench.run(hitTag, { action: 'clear' });
  const sites = (collected.outputs as { sites: { kind: string; frame: string; paths?: Record<string, { culprit: { frame: string; returnAddress?: string } }> }[] }).sites;
  // One call site in NDIS, one path per calling driver.
  const alloc = sites.filter((s) => s.kind === 'alloc');
  expect(alloc.map((s) => s.frame)).toEqual(['ndis!NdisAllocateMemoryWithTagPriority+0x5c']);
  expect(Object.values(alloc[0]!.paths!).map((p) => p.culprit.frame).sort()).toEqual(['nrvlwf!NrvQosCreateFlowEntry+0x44', 'nrvmp!NrvRscAllocateCoalesceContext+0x2e', 'nrvpm!NrvPmAddWakePattern+0x3a']);
  before?.(bench, sites);
  const retag = bench.facts.os.arch === 'x86' ? retagX86 : retagX64;
  const result = await bench.run(retag, { tag: 'Nrv', sites: sites as never, duration: '60s', points: 4 }, { id: 'retag' });
  return result.outputs as unknown as RetagOut;
}

describe.each(['win10-1607-x64', 'win7-sp1-x86'])('a wrapper whose tag is its callers\' argument, on %s', (profile) => {
  test('each calling driver gets its own tag at its own call; only the leaking driver\'s tag keeps its blocks; every byte restored', async () => {
    const out = await collectAndRetag(profile);
    const byCulprit = Object.fromEntries(out.sites.map((s) => [s.culprit!.frame, s]));
    expect(Object.keys(byCulprit).sort()).toEqual(['nrvlwf!NrvQosCreateFlowEntry+0x44', 'nrvmp!NrvRscAllocateCoalesceContext+0x2e', 'nrvpm!NrvPmAddWakePattern+0x3a']);
    expect(new Set(out.sites.map((s) => s.retag)).size).toBe(3);
    for (const site of out.sites) {
      expect(site.frame).toBe('ndis!NdisAllocateMemoryWithTagPriority+0x5c');
      expect(site.patched).toHaveLength(1);
      // The patch is in the calling driver's code, not in NDIS.
      const module = bench!.kernel.modules().find((m) => BigInt(`0x${site.patched[0]}`) >= m.base && BigInt(`0x${site.patched[0]}`) < m.base + BigInt(m.size))!;
      expect(module.name).toBe(site.culprit!.frame.split('!')[0]);
    }
    // Each new tag counted only its driver's allocations (the kernel's own counters): 30, 10 and 10 a second.
    const allocs = (frame: string) => bench!.kernel.tagCounters().find((c) => c.tag === byCulprit[frame]!.retag)!.nonpaged.allocs;
    const rsc = allocs('nrvmp!NrvRscAllocateCoalesceContext+0x2e');
    const qos = allocs('nrvlwf!NrvQosCreateFlowEntry+0x44');
    const wake = allocs('nrvpm!NrvPmAddWakePattern+0x3a');
    expect(qos).toBeGreaterThan(400);
    expect(rsc / qos).toBeGreaterThan(2.4);
    expect(rsc / qos).toBeLessThan(3.6);
    expect(wake / qos).toBeGreaterThan(0.7);
    expect(wake / qos).toBeLessThan(1.4);
    // Only the filter leaks: its tag holds blocks, the others' drain.
    expect(byCulprit['nrvlwf!NrvQosCreateFlowEntry+0x44']!.outstanding).toBeGreaterThan(0.2 * qos);
    expect(byCulprit['nrvmp!NrvRscAllocateCoalesceContext+0x2e']!.outstanding).toBeLessThan(5);
    expect(byCulprit['nrvpm!NrvPmAddWakePattern+0x3a']!.outstanding).toBeLessThan(5);
    // NDIS's call has no immediate (said once); every driver's call has one.
    const missing = out.warnings.filter((w) => /no tag immediate/.test(w));
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatch(/^ndis!NdisAllocateMemoryWithTagPriority\+0x5c: no tag immediate "Nrv " before [0-9a-f]+ \(tag held in data or a register\?\); its callers' calls into it are tried instead$/);
    expect(out.restored).toBe(true);
    expect(bench!.kernel.patchedBytes()).toEqual([]);
    expect(bench!.memory.pending()).toEqual([]);
  });
});

test('a calling driver whose tag immediate has the protected-pool bit is never retagged; the others are', async () => {
  let protectedAt: bigint | undefined;
  const out = await collectAndRetag('win10-1607-x64', (b, sites) => {
    // nrvpm allocates with "Nrv " | PROTECTED_POOL: its immediate's fourth byte has bit 7 set.
    const path = Object.values(sites.find((s) => s.kind === 'alloc')!.paths!).find((p) => p.culprit.frame.startsWith('nrvpm!'))!;
    const ret = BigInt(`0x${path.culprit.returnAddress!}`);
    const code = b.kernel.readMemory(ret - 0x20n, 0x20)!;
    const at = Buffer.from(code).indexOf(Buffer.from('Nrv ', 'latin1'));
    protectedAt = ret - 0x20n + BigInt(at);
    b.kernel.writeMemory(protectedAt + 3n, Uint8Array.of(0xa0));
  });
  expect(out.sites.map((s) => s.culprit!.frame).sort()).toEqual(['nrvlwf!NrvQosCreateFlowEntry+0x44', 'nrvmp!NrvRscAllocateCoalesceContext+0x2e']);
  expect(out.warnings.some((w) => /^nrvpm!NrvPmAddWakePattern\+0x3a \(its call into ndis!NdisAllocateMemoryWithTagPriority\+0x5c\): allocates "Nrv " with the protected-pool bit: never retagged/.test(w))).toBe(true);
  // Only the test's own byte differs from the image: the retag restored all of its writes and never touched nrvpm's.
  expect(bench!.kernel.patchedBytes().map((p) => p.address)).toEqual([protectedAt! + 3n]);
  expect(bench!.memory.pending()).toEqual([]);
});
