// Load (issue 7 §5), the full figure: 10,000 PoolHitTag breaks in one collect-stacks run, heap
// growth bounded and not growing with the number of breaks (compared with a 1,000-break run).
import { expect, test } from 'vitest';
import { collectUnderLoad } from './load.js';

test('10,000 breaks in one collect-stacks run with bounded memory', async () => {
  const small = await collectUnderLoad(1000);
  const large = await collectUnderLoad(10_000);
  const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 100) / 100;
  process.stdout.write(`load: 1,000 breaks +${mb(small.peakHeap - small.baselineHeap)} MB in ${small.durationMs} ms; 10,000 breaks +${mb(large.peakHeap - large.baselineHeap)} MB in ${large.durationMs} ms; transcript chunks ${large.partialTranscriptLines}, longest line ${large.longestTranscriptLine} B\n`);
  expect(large.status).toBe('succeeded');
  expect(large.stacksOnDisk).toBe(10_000);
  expect(large.peakHeap - large.baselineHeap).toBeLessThan(2 * 2 ** 20);
  // Ten times the breaks, not ten times the memory: within 1 MB of the small run's growth.
  expect(large.peakHeap - large.baselineHeap - (small.peakHeap - small.baselineHeap)).toBeLessThan(2 ** 20);
  expect(large.longestTranscriptLine).toBeLessThan(512 * 1024);
}, 600_000);
