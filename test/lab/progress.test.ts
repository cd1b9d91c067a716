// The lab's live task list (what listr2 draws at a terminal), with a stand-in for listr2 that runs
// the tasks and keeps what they show: the lab's line with its counts, each target's line with the
// step it is on and that step's progress, how each target ended, and a stop.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { ListrTaskHandle, ListrTaskSpec } from '../../src/core/reporters/listr.js';
import type { LabTarget } from '../../src/lab/inventory.js';
import { createListrLabView } from '../../src/lab/progress.js';
import { runLab, type TargetRun } from '../../src/lab/run.js';

const target = (name: string): LabTarget => ({ name, spec: `sim:${name}`, shownSpec: `sim:${name}`, inputs: {}, labels: {}, runner: [], groups: [] });
const time = () => new Date().toISOString();

// A task as drawn: its title and output as they change, and how it ended.
interface Drawn extends ListrTaskHandle {
  titles: string[];
  outputs: string[];
  ended?: string;
}

// Runs every task at once and records what each shows.
function recordingDraw() {
  const drawn: Drawn[] = [];
  const draw = async (tasks: ListrTaskSpec[]) => {
    await Promise.all(
      tasks.map(async (spec) => {
        const titles = [spec.title];
        const outputs: string[] = [];
        const handle: Drawn = {
          titles,
          outputs,
          get title() {
            return titles.at(-1)!;
          },
          set title(text: string) {
            titles.push(text);
          },
          get output() {
            return outputs.at(-1) ?? '';
          },
          set output(text: string) {
            outputs.push(text);
          },
          skip(message?: string) {
            handle.ended = `skipped: ${message}`;
          },
        };
        drawn.push(handle);
        try {
          await spec.task(undefined, handle);
          handle.ended ??= 'completed';
        } catch (error) {
          handle.ended = `failed: ${(error as Error).message}`;
        }
      }),
    );
  };
  return { drawn, draw };
}

// The events of a hunt that is in its collect step.
function inCollect(run: TargetRun): void {
  const r = run.reporter;
  void r.onRunStart?.({ event: 'runStart', time: time(), steps: [{ id: 'rank', section: 'steps' }, { id: 'collect', section: 'steps' }, { id: 'clear-hit-tag', section: 'always' }] } as never);
  void r.onStepStart?.({ event: 'stepStart', time: time(), step: 'collect', uses: 'pool.collect-stacks', plugin: 'pool', provider: 'collect-fast', attempt: 1 } as never);
  void r.onProgress?.({ event: 'progress', time: time(), step: 'collect', done: 3, total: 10, message: 'nt!ExAllocatePoolWithTag' } as never);
}

test('the lab line counts, each target line shows its step and progress, and how the target ended', async () => {
  const { drawn, draw } = recordingDraw();
  const targets = ['ok', 'bad', 'queued'].map(target);
  const view = createListrLabView({ targets, parallel: 2, labDir: 'lab', redrawMs: 0, draw });
  const started: TargetRun[] = [];
  let release!: () => void;
  const bothInCollect = new Promise<void>((resolve) => (release = resolve));
  const lab = runLab({
    labDir: mkdtempSync(join(tmpdir(), 'leakhunt-lab-view-')),
    targets,
    parallel: 2,
    out: { write: () => expect.unreachable('a view replaces the plain lines') },
    view,
    runTarget: async (run) => {
      started.push(run);
      inCollect(run);
      if (started.length === 2) release();
      // Both hunts hold in collect until a stop; then `ok` ends well, `bad` with its step failed.
      await new Promise((resolve) => run.signal.signal.addEventListener('abort', resolve, { once: true }));
      const r = run.reporter;
      if (run.target.name === 'ok') {
        void r.onStepEnd?.({ event: 'stepEnd', time: time(), step: 'collect', status: 'ok', durationMs: 5, summary: 'leak: netx!NxAllocRxContext+0x1e' } as never);
        return 0;
      }
      void r.onStepEnd?.({ event: 'stepEnd', time: time(), step: 'collect', status: 'failed', durationMs: 5, error: { code: 'RUN_ABORTED', message: 'stop signal' } } as never);
      return 1;
    },
  });
  await bothInCollect;
  const line = (name: string) => drawn.find((task) => task.titles[0]!.startsWith(`${name}  `))!;
  expect(line('ok').title).toBe('ok  step 2/2 collect  pool.collect-stacks → pool/collect-fast');
  expect(line('ok').output).toMatch(/^3\/10 · nt!ExAllocatePoolWithTag · \d+\.\ds elapsed/);
  expect(line('queued').title).toBe('queued  sim:queued');
  const labLine = drawn.find((task) => task.titles[0]!.startsWith('lab  '))!;
  expect(labLine.title).toBe('lab  0/3 finished (0 succeeded, 0 not) · 2 running · 1 waiting  → lab');
  lab.stop();
  expect(labLine.title).toContain('· stopping: each running target runs its cleanup');
  const records = await lab.done;
  expect(records.map((r) => [r.name, r.status])).toEqual([['ok', 'succeeded'], ['bad', 'aborted'], ['queued', 'not-run']]);
  expect(line('ok').ended).toBe('completed');
  expect(line('ok').title).toMatch(/^ok {2}succeeded in \d+\.\ds · leak: netx!NxAllocRxContext\+0x1e$/);
  expect(line('bad').ended).toBe('failed: bad: aborted (exit 1) · collect failed: RUN_ABORTED stop signal');
  expect(line('queued').ended).toBe('skipped: queued: not run (the lab was stopped first)');
  expect(labLine.ended).toBe('completed');
  expect(labLine.title).toBe('lab  2/3 finished (1 succeeded, 1 not) · 0 running · 0 waiting · 1 not run (stopped first)  → lab');
});
