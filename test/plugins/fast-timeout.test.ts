// Fast mode lets kd continue by itself after each hit (`sxe -c … j (…) 'g'`). A Ctrl+C break-in
// is a break instruction exception too, so the event command must not continue past it —
// otherwise a collection that times out (a tag that never hits) could never stop the target,
// and PoolHitTag could not be cleared.
import { afterEach, describe, expect, test } from 'vitest';
import { collectStacksClassic, collectStacksSegmentHeap } from '../../plugins/pool/collect-stacks.js';
import { hitTag } from '../../plugins/pool/hit-tag.js';
import { openBench, type Bench } from './harness.js';

let bench: Bench | undefined;
afterEach(async () => {
  await bench?.close();
  bench = undefined;
});

describe.each(['winxp-sp3-x86', 'win7-sp1-x64', 'win11-24h2-x64'])('fast mode on %s', (profile) => {
  test('a collection that gets no hit stops at its timeout, and the hit tag can be cleared', async () => {
    bench = await openBench({ profile, taggingOn: true });
    await bench.run(hitTag, { action: 'set', tag: 'Qz9q' }, { id: 'hit-tag' });
    const collector = bench.facts.pool.allocator === 'segment-heap' ? collectStacksSegmentHeap : collectStacksClassic;
    const collected = await bench.run(collector, { tag: 'Qz9q', count: 100, timeout: '1500ms', mode: 'fast' }, { id: 'collect' });
    expect(collected.outputs).toMatchObject({ stacks: 0, stoppedBy: 'timeout' });
    expect(bench.session.running).toBe(false);
    await bench.run(hitTag, { action: 'clear' }, { id: 'clear' });
    expect(bench.kernel.poolHitTag()).toBe(0xffffff0f);
    expect((await bench.session.execute('sx')).output).not.toMatch(/Command:/);
  });
});
