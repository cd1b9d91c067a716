// Reporters observe events: plain timestamped lines, one JSON object per line, and a
// reporter that throws never changes the run.
import { describe, expect, test } from 'vitest';
import { EventBus } from '../../src/core/events.js';
import type { RunEvent } from '../../src/core/events.js';
import { createJsonReporter } from '../../src/core/reporters/json.js';
import { createPlainReporter } from '../../src/core/reporters/plain.js';

const time = '2026-11-26T16:15:02.000Z';
const events: RunEvent[] = [
  { event: 'runStart', time, playbook: 'demo', file: 'demo.yaml', check: false, target: { kind: 'sim', spec: 'sim:', os: 'xp 5.1.2600', arch: 'x86' }, steps: [{ id: 'rank', uses: 'pool.rank-tags', section: 'steps', plugin: 'pool', provider: 'poolused' }] },
  { event: 'stepStart', time, step: 'rank', uses: 'pool.rank-tags', section: 'steps', plugin: 'pool', provider: 'poolused', attempt: 1 },
  { event: 'stepEnd', time, step: 'rank', uses: 'pool.rank-tags', section: 'steps', status: 'failed', durationMs: 1200, attempts: 1, outputs: {}, error: { code: 'TIMEOUT', message: 'Step "rank" timed out after 1000 ms' } },
  { event: 'runEnd', time, status: 'failed', durationMs: 1300, counts: { ok: 0, changed: 0, skipped: 0, failed: 1 }, restoredWrites: 1 },
];

describe('reporters', () => {
  test('plain: one timestamped line per event', () => {
    let text = '';
    const bus = new EventBus([createPlainReporter({ write: (s: string) => (text += s) })]);
    events.forEach((e) => bus.emit(e));
    const lines = text.trimEnd().split('\n').map((l) => l.replace(/^\d\d:\d\d:\d\d /, ''));
    expect(text).toMatch(/^\d\d:\d\d:\d\d run /);
    expect(lines).toEqual([
      'run     demo on sim xp 5.1.2600 x86 (1 steps, 0 cleanup)',
      'start   rank  pool.rank-tags → pool/poolused',
      'failed  rank  1.2s  TIMEOUT Step "rank" timed out after 1000 ms',
      'end     failed in 1.3s (ok 0, changed 0, skipped 0, failed 1); engine restored 1 memory write(s)',
    ]);
  });

  test('json: every event as one parseable line', () => {
    let text = '';
    const bus = new EventBus([createJsonReporter({ write: (s: string) => (text += s) })]);
    events.forEach((e) => bus.emit(e));
    expect(text.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual(events);
  });

  test('a throwing reporter does not stop the others or the sinks', () => {
    const seen: string[] = [];
    const bus = new EventBus([{ name: 'bad', onStepStart: () => { throw new Error('reporter bug'); } }, { name: 'good', onStepStart: (e) => void seen.push(e.step) }]);
    bus.addSink((e) => seen.push(`sink:${e.event}`));
    expect(() => bus.emit(events[1]!)).not.toThrow();
    expect(seen).toEqual(['sink:stepStart', 'rank']);
  });
});
