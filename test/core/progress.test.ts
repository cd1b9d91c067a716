// Progress of long work: counts, elapsed time and an estimate; plain lines at most every few seconds.
import { describe, expect, test, vi } from 'vitest';
import type { EventOf } from '../../src/core/events.js';
import { createPlainReporter } from '../../src/core/reporters/plain.js';
import { redrawThrottle } from '../../src/core/reporters/listr.js';
import { formatProgress } from '../../src/core/reporters/progress.js';

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + ms).toISOString();
const progress = (ms: number, done: number, total?: number, message?: string): EventOf<'progress'> => ({ event: 'progress', time: at(ms), step: 'collect', done, ...(total !== undefined && { total }), ...(message && { message }) });
const start: EventOf<'stepStart'> = { event: 'stepStart', time: at(0), step: 'collect', uses: 'pool.collect-stacks', section: 'steps', plugin: 'pool', provider: 'classic', attempt: 1 };

describe('formatProgress', () => {
  test('counts, the message, elapsed time and a straight-line estimate', () => {
    expect(formatProgress(progress(4000, 10, 40, 'abcflt!AbcAllocateContext+0x1a'), Date.parse(at(0)))).toBe('10/40 · abcflt!AbcAllocateContext+0x1a · 4.0s elapsed, about 12s left');
  });

  test('no estimate without a total, before the first unit, or when done', () => {
    expect(formatProgress(progress(2000, 3), Date.parse(at(0)))).toBe('3 · 2.0s elapsed');
    expect(formatProgress(progress(2000, 0, 40), Date.parse(at(0)))).toBe('0/40 · 2.0s elapsed');
    expect(formatProgress(progress(125_000, 40, 40), Date.parse(at(0)))).toBe('40/40 · 2m05s elapsed');
  });
});

describe('plain reporter', () => {
  test('prints progress at most once every few seconds per step', () => {
    const lines: string[] = [];
    const reporter = createPlainReporter({ write: (text) => lines.push(String(text)) }, { progressEveryMs: 5000 });
    reporter.onStepStart!(start);
    for (let second = 1; second <= 12; second++) reporter.onProgress!(progress(second * 1000, second, 12));
    const shown = lines.filter((line) => line.includes('progress'));
    expect(shown).toHaveLength(2);
    expect(shown[0]).toContain('collect  5/12 · 5.0s elapsed, about 7.0s left');
    expect(shown[1]).toContain('collect  10/12 · 10s elapsed, about 2.0s left');
  });
});

describe('tickProgress (long waits in the pool plugin)', () => {
  test('reports seconds done of seconds planned once a second until stopped', async () => {
    const { vi } = await import('vitest');
    const { tickProgress } = await import('../../plugins/pool/kd.js');
    vi.useFakeTimers();
    try {
      const updates: [number, number | undefined, string | undefined][] = [];
      const ticker = tickProgress({ progress: { update: (done, total, message) => updates.push([done, total, message]) } }, 4000, 'seconds of the retagged run');
      await vi.advanceTimersByTimeAsync(3000);
      ticker.stop();
      await vi.advanceTimersByTimeAsync(3000);
      expect(updates).toEqual([[1, 4, 'seconds of the retagged run'], [2, 4, 'seconds of the retagged run'], [3, 4, 'seconds of the retagged run']]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('redrawThrottle (the live task list on a TTY)', () => {
  // Fake timers: the clock moves only when the test says, so no result depends on the host's speed.
  test('a thousand updates in one interval draw twice: the first at once, the latest when the interval has passed', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
    try {
      const shown: string[] = [];
      const throttle = redrawThrottle(1000, (step, text) => shown.push(`${step}: ${text}`));
      for (let i = 1; i <= 1000; i++) throttle.show('collect', `${i}/1000`);
      expect(shown).toEqual(['collect: 1/1000']);
      vi.advanceTimersByTime(999);
      expect(shown).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(shown).toEqual(['collect: 1/1000', 'collect: 1000/1000']);
      // Each step keeps its own interval.
      throttle.show('retag', 'round 1');
      expect(shown.at(-1)).toBe('retag: round 1');
    } finally {
      vi.useRealTimers();
    }
  });

  test('a step that ended draws nothing more', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
    try {
      const shown: string[] = [];
      const throttle = redrawThrottle(1000, (step, text) => shown.push(`${step}: ${text}`));
      throttle.show('collect', '1/40');
      throttle.show('collect', '2/40');
      throttle.drop('collect');
      throttle.show('rank', 'sample 1');
      throttle.show('rank', 'sample 2');
      throttle.dropAll();
      vi.advanceTimersByTime(5000);
      expect(shown).toEqual(['collect: 1/40', 'rank: sample 1']);
    } finally {
      vi.useRealTimers();
    }
  });
});
