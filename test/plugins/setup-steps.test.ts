// pool-tagging.enable, target.reboot, symbols.reload, pool.find and fast-mode collection on the simulator.
import { afterEach, describe, expect, test } from 'vitest';
import { collectStacksClassic, collectStacksSegmentHeap } from '../../plugins/pool/collect-stacks.js';
import { findLegacy, findModern } from '../../plugins/pool/find.js';
import { hitTag } from '../../plugins/pool/hit-tag.js';
import { enableAlwaysOn, enableGflags } from '../../plugins/pool-tagging/index.js';
import { reload } from '../../plugins/symbols/index.js';
import { reboot } from '../../plugins/target/index.js';
import { openBench, type Bench } from './harness.js';

let bench: Bench | undefined;
afterEach(async () => {
  await bench?.close();
  bench = undefined;
});

describe.each(['win2000-sp4-x86', 'winxp-sp3-x86'])('tagging on %s', (profile) => {
  test('through the host channel: gflags sets ptg, the reboot proves itself and the new boot counts tags', async () => {
    bench = await openBench({ profile });
    expect(bench.facts.pool.taggingEnabled).toBe(false);
    const enabled = await bench.run(enableGflags, {}, { id: 'tagging', host: true });
    expect(enabled).toMatchObject({ status: 'changed', outputs: { rebootRequired: true, method: 'host-channel' } });
    expect(bench.kernel.registryGlobalFlag() & 0x400).toBe(0x400);
    const rebooted = await bench.run(reboot, { required: true, timeout: '30s' }, { id: 'reboot' });
    expect(rebooted.outputs).toMatchObject({ rebooted: true, taggingEnabled: true });
    expect(String(rebooted.outputs!.proof)).toMatch(/boot time moved|uptime went back/);
    expect(bench.kernel.bootCount()).toBe(1);
    const again = await bench.run(enableGflags, {}, { id: 'tagging-again', host: true });
    expect(again.outputs).toMatchObject({ rebootRequired: false, method: 'already-on' });
  });

  test('without a host channel: the GFlags steps, as a question on a TTY or as the failure', async () => {
    bench = await openBench({ profile });
    await expect(bench.run(enableGflags, {})).rejects.toMatchObject({ code: 'TAGGING_OFF', message: expect.stringMatching(/System Registry tab[\s\S]*Enable Pool Tagging/) });
    const asked: string[] = [];
    const confirmed = await bench.run(enableGflags, {}, { confirm: async (q) => (asked.push(q), true) });
    expect(asked[0]).toMatch(/gflags \/r \+ptg/);
    expect(confirmed.outputs).toMatchObject({ rebootRequired: true, method: 'operator' });
    await expect(bench.run(enableGflags, {}, { confirm: async () => false })).rejects.toMatchObject({ code: 'TAGGING_NOT_ENABLED' });
  });
});

describe.each(['win2003-sp2-x86', 'win10-22h2-x64'])('on %s', (profile) => {
  test('tagging is always on; symbols reload and prove nt; no reboot is asked for', async () => {
    bench = await openBench({ profile });
    expect(await bench.run(enableAlwaysOn, {})).toMatchObject({ status: 'ok', summary: 'always enabled on this version', outputs: { rebootRequired: false } });
    const reloaded = await bench.run(reload, {});
    expect(reloaded.outputs).toMatchObject({ command: '.reload /f', ntSymbols: true });
    expect(String(reloaded.outputs!.poolHitTagAddress)).toMatch(/^[0-9a-f]{8,16}$/);
    expect((await bench.run(reboot, {})).status).toBe('skipped');
  });
});

describe.each([
  ['win7-sp1-x86', findLegacy],
  ['win81-x64', findModern],
  ['win11-24h2-x64', findModern],
] as const)('pool.find on %s', (profile, finder) => {
  test('finds the leaking tag\'s blocks in its pool', async () => {
    bench = await openBench({ profile });
    const found = await bench.run(finder, { tag: 'Abc', pool: 'paged', timeout: '60s' });
    const out = found.outputs as { count: number; bytes: number; partial: boolean; hits: { tag: string; pool: string }[] };
    expect(out.count).toBeGreaterThan(0);
    expect(out.bytes).toBeGreaterThanOrEqual(out.count * 932);
    expect(out.hits.every((h) => h.tag === 'Abc ')).toBe(true);
  });
});

describe.each(['winxp-sp3-x86', 'win11-24h2-x64'])('fast mode on %s', (profile) => {
  test('kd prints the stacks itself; the stream is split and counted per site', async () => {
    bench = await openBench({ profile, taggingOn: true });
    await bench.run(hitTag, { action: 'set', tag: 'Abc' });
    const collector = bench.facts.pool.allocator === 'segment-heap' ? collectStacksSegmentHeap : collectStacksClassic;
    const collected = await bench.run(collector, { tag: 'Abc', count: 20, timeout: '20s', mode: 'fast' });
    const out = collected.outputs as { mode: string; stacks: number; method: string; sites: { kind: string; function?: string; allocs: number; frees: number }[] };
    expect(out.mode).toBe('fast');
    expect(out.stacks).toBe(20);
    expect(out.method).toBe('counts');
    const alloc = out.sites.find((s) => s.kind === 'alloc');
    expect(alloc?.function).toBe('AbcAllocateContext');
    expect(out.sites.reduce((n, s) => n + s.allocs + (s.kind === 'free' ? s.frees : 0), 0)).toBe(20);
    await bench.run(hitTag, { action: 'clear' });
    expect(bench.kernel.poolHitTag()).toBe(0xffffff0f);
  });
});
