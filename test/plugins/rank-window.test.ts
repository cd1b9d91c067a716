// pool.rank-tags' growth window against the simulator: snapshots two minutes apart on a target
// whose reputation cache fills for an hour after boot (no leak). Without a window the first look,
// six minutes in, sees a rise that has not had time to bend and calls the cache a leak; with the
// playbook's 30-minute window no tag is tested before the samples span it (this cache still rises
// at 30 minutes; the retag rounds then see it level off, which the hunt's verdict needs).
import { afterEach, describe, expect, test } from 'vitest';
import { rankTags } from '../../plugins/pool/rank-tags.js';
import { openBench, type Bench } from './harness.js';

let bench: Bench | undefined;
afterEach(async () => {
  await bench?.close();
  bench = undefined;
});

const scenario = 'accuracy/url-reputation-ttl-cache-after-reboot-no-leak.yaml';
// 200 ms of host time at a time scale of 600 is two minutes of target time.
const twoMinutes = { samples: 4, interval: 200, budget: '1h' };

type Outputs = { suspect: { tag: string } | null; targetTimeMs: number; samples: unknown[] };

describe('the growth window', () => {
  test('without it, a cache still filling is a suspect after a few minutes', async () => {
    bench = await openBench({ scenario }, { timeScale: 600 });
    const rank = (await bench.run(rankTags, twoMinutes, { id: 'rank' })).outputs as Outputs;
    expect(rank.suspect?.tag).toBe('WfuR');
    expect(rank.targetTimeMs).toBeLessThan(30 * 60_000);
  });

  test('with it, no tag is tested before the samples span 30 minutes', async () => {
    bench = await openBench({ scenario }, { timeScale: 600 });
    const rank = (await bench.run(rankTags, { ...twoMinutes, window: '30m' }, { id: 'rank' })).outputs as Outputs;
    expect(rank.targetTimeMs).toBeGreaterThanOrEqual(30 * 60_000);
    expect(rank.samples.length).toBeGreaterThanOrEqual(16);
  });

  test('a budget shorter than the window still decides on what it has, at the last sample', async () => {
    bench = await openBench({ scenario }, { timeScale: 600 });
    const rank = (await bench.run(rankTags, { ...twoMinutes, budget: '10m', window: '30m' }, { id: 'rank' })).outputs as Outputs & { decisive: boolean; basis: string };
    expect(rank.basis).toBe('growth');
    expect(rank.targetTimeMs).toBeLessThanOrEqual(10 * 60_000);
    expect(rank.samples.length).toBe(6);
  });

  // A minute between snapshots, as a user may choose on a real target: an hour's budget is 61
  // snapshots. Capped at 30, sampling stopped at 29 minutes and ranked before the window.
  test('snapshots a minute apart: sampling reaches the window, past 30 snapshots', async () => {
    bench = await openBench({ scenario }, { timeScale: 600 });
    const rank = (await bench.run(rankTags, { samples: 4, interval: 100, budget: '1h', window: '30m' }, { id: 'rank' })).outputs as Outputs;
    expect(rank.samples.length).toBeGreaterThan(30);
    expect(rank.targetTimeMs).toBeGreaterThanOrEqual(30 * 60_000);
  });
});
