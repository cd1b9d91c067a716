// Load, fast variant (issue 7 §5): 3,000 PoolHitTag breaks in one fast-mode collect-stacks run;
// the stream of stacks goes to disk as it arrives and the heap stays within a bound that does
// not grow with the number of breaks. The 10,000-break run is in npm run test:faults.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { cli } from './harness.js';
import { collectUnderLoad } from './load.js';

describe.runIf(existsSync(cli))('load', () => {
  test('3,000 breaks: every stack on disk, the stream written in chunks, heap growth under 2 MB (the whole stream held at once: 2.4 MB at 3,000, linear in breaks)', async () => {
    const figures = await collectUnderLoad(3000);
    process.stdout.write(`load 3000: ${JSON.stringify({ ...figures, growthMB: (figures.peakHeap - figures.baselineHeap) / 2 ** 20 })}\n`);
    expect(figures.status).toBe('succeeded');
    expect(figures.stacksOnDisk).toBe(3000);
    // Each stack line is whole JSON with the frames of its break.
    const last = JSON.parse(readFileSync(join(figures.runDir, 'stacks.jsonl'), 'utf8').trim().split('\n').at(-1)!);
    expect(last.seq).toBe(3000);
    expect(last.frames.length).toBeGreaterThan(2);
    expect(figures.partialTranscriptLines).toBeGreaterThan(10);
    expect(figures.longestTranscriptLine).toBeLessThan(512 * 1024);
    expect(figures.peakHeap - figures.baselineHeap).toBeLessThan(2 * 2 ** 20);
  }, 60_000);
});
