// pool.rank-tags and pool.collect-stacks against the simulator: the growing tag is found, and its
// stacks are attributed to the scenario's allocation site on every profile family.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { collectStacksClassic, collectStacksSegmentHeap } from '../../plugins/pool/collect-stacks.js';
import { hitTag } from '../../plugins/pool/hit-tag.js';
import { rankTags } from '../../plugins/pool/rank-tags.js';
import { familyProfiles, leakingSites, openBench, type Bench } from './harness.js';

let bench: Bench | undefined;
afterEach(async () => {
  await bench?.close();
  bench = undefined;
});


describe.each(familyProfiles)('on %s', (profile) => {
  test('rank by growth names the leaking tag; collect attributes its stacks to the allocation site', async () => {
    bench = await openBench({ profile, taggingOn: true });
    const [expected] = leakingSites(bench.scenario);
    expect(expected).toBeDefined();
    const rank = await bench.run(rankTags, { samples: 4, interval: 200 }, { id: 'rank' });
    expect(rank.outputs!.basis).toBe('growth');
    const suspect = rank.outputs!.suspect as { tag: string; growthBytesPerMinute: number };
    expect(suspect.tag).toBe(expected!.tag);
    expect(suspect.growthBytesPerMinute).toBeGreaterThan(0);

    await bench.run(hitTag, { action: 'set', tag: suspect.tag }, { id: 'hit-tag' });
    const collector = bench.facts.pool.allocator === 'segment-heap' ? collectStacksSegmentHeap : collectStacksClassic;
    const collected = await bench.run(collector, { tag: suspect.tag, count: 12, timeout: '20s', mode: 'per-hit' }, { id: 'collect' });
    const out = collected.outputs! as { stacks: number; sites: { kind: string; module: string; function?: string; allocs: number; returnAddress?: string }[]; stoppedBy: string; allocator: string };
    // `count` stacks, then frees only until every free site seen is paired with its allocation site.
    expect(out.stacks).toBeGreaterThanOrEqual(12);
    expect(out.sites.filter((s) => s.kind === 'free').every((s) => (s as { freesOf?: object }).freesOf !== undefined)).toBe(true);
    expect(out.stoppedBy).toBe('count');
    expect(out.allocator).toBe(bench.facts.pool.allocator);
    const alloc = out.sites.filter((s) => s.kind === 'alloc');
    expect(alloc.map((s) => `${s.module}!${s.function}`)).toContain(`${expected!.module}!${expected!.function}`);
    expect((collected.outputs as { method: string }).method).toBe('pairing');
    expect(alloc.every((s) => /^[0-9a-f]+$/.test(s.returnAddress ?? ''))).toBe(true);
    const lines = readFileSync(join(bench.files.dir, 'stacks.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(out.stacks);
    expect(JSON.parse(lines[0]!)).toMatchObject({ seq: 1, tag: 'Abc ' });

    await bench.run(hitTag, { action: 'clear' });
    expect(bench.kernel.poolHitTag()).toBe(0xffffff0f);
    expect(bench.session.running).toBe(false);
  });
});
