/**
 * The live task list on a TTY, drawn by listr2. The engine runs the steps; listr2 only shows
 * them: each task waits for its step's end event. listr2 is imported lazily, when a run
 * starts on a TTY, so start-up of every other command stays fast.
 */
import type { EventOf, Reporter } from '../events.js';
import { formatProgress, StepClock } from './progress.js';

// A step's end as the task list needs it.
interface Ending {
  status: string;
  text: string;
}

/**
 * How often a step's line of progress is redrawn at most. listr2 redraws the task list on every
 * output change, and collect-stacks reports each stack: unthrottled, the drawing slowed a
 * collection about 40 times (bench: stacks per second with and without a TTY).
 */
export const PROGRESS_REDRAW_MS = 200;

/** A reporter that draws listr2's live task list; `renderer` may be forced for tests. */
export function createListrReporter(options: { renderer?: 'default' | 'simple' | 'test' | 'verbose'; redrawMs?: number } = {}): Reporter {
  const waiters = new Map<string, { resolve: (ending: Ending) => void; promise: Promise<Ending> }>();
  const outputs = new Map<string, (text: string) => void>();
  const redrawMs = options.redrawMs ?? PROGRESS_REDRAW_MS;
  // Per step: when its progress was last drawn, and the latest text waiting for its turn.
  const drawn = new Map<string, number>();
  const waiting = new Map<string, { text: string; timer: NodeJS.Timeout }>();
  const showProgress = (step: string, text: string) => {
    const pending = waiting.get(step);
    if (pending) {
      pending.text = text;
      return;
    }
    const due = (drawn.get(step) ?? 0) + redrawMs - Date.now();
    if (due <= 0) {
      drawn.set(step, Date.now());
      outputs.get(step)?.(text);
      return;
    }
    const timer = setTimeout(() => {
      const latest = waiting.get(step);
      waiting.delete(step);
      drawn.set(step, Date.now());
      if (latest) outputs.get(step)?.(latest.text);
    }, due);
    timer.unref();
    waiting.set(step, { text, timer });
  };
  const dropProgress = (step: string) => {
    clearTimeout(waiting.get(step)?.timer);
    waiting.delete(step);
  };
  const steps = new StepClock();
  let running: Promise<unknown> | undefined;
  const waiter = (id: string) => {
    let entry = waiters.get(id);
    if (!entry) {
      let resolve!: (ending: Ending) => void;
      const promise = new Promise<Ending>((r) => (resolve = r));
      entry = { resolve, promise };
      waiters.set(id, entry);
    }
    return entry;
  };
  return {
    name: 'listr',
    async onRunStart(e: EventOf<'runStart'>) {
      for (const step of e.steps) waiter(step.id);
      const { Listr } = await import('listr2');
      const tasks = e.steps.map((step) => ({
        title: `${step.name ?? step.id}  ${step.uses} → ${step.plugin}/${step.provider}${step.section === 'always' ? '  (cleanup)' : ''}`,
        task: async (_: unknown, task: { title: string; output: string; skip(message?: string): void }) => {
          outputs.set(step.id, (text) => (task.output = text));
          const ending = await waiter(step.id).promise;
          if (ending.status === 'skipped') task.skip(`${step.name ?? step.id}: ${ending.text}`);
          else if (ending.status === 'failed') throw new Error(ending.text);
          else task.title = `${task.title}  ${ending.text}`;
        },
      }));
      // registerSignalListeners: false — listr2's own SIGINT listener ends the process, which
      // would skip the run's cleanup (PoolHitTag, patched bytes, a halted target); the hunt
      // takes the signals itself (src/cli/commands/run.ts).
      const list = new Listr(tasks, { concurrent: false, exitOnError: false, registerSignalListeners: false, renderer: options.renderer ?? 'default', rendererOptions: { collapseSubtasks: false, lazy: true } } as never);
      running = list.run().catch(() => undefined);
    },
    onStepStart(e: EventOf<'stepStart'>) {
      steps.start(e);
    },
    onStepEnd(e: EventOf<'stepEnd'>) {
      dropProgress(e.step);
      const text = e.status === 'failed' ? `${e.error?.code} ${e.error?.message}` : e.status === 'skipped' ? (e.reason ?? '') : `${e.status} ${(e.durationMs / 1000).toFixed(1)}s${e.summary ? ` ${e.summary}` : ''}`;
      waiter(e.step).resolve({ status: e.status, text: e.commands ? `${e.commands.join(' ; ') || '(no commands)'}` : text });
    },
    onLog(e: EventOf<'log'>) {
      if (e.step && e.level !== 'debug') outputs.get(e.step)?.(e.message);
    },
    onProgress(e: EventOf<'progress'>) {
      showProgress(e.step, formatProgress(e, steps.startOf(e)));
    },
    async onRunEnd() {
      // Steps that never ran (the run ended early) are closed as skipped.
      for (const [, entry] of waiters) entry.resolve({ status: 'skipped', text: 'not run' });
    },
    async close() {
      for (const step of [...waiting.keys()]) dropProgress(step);
      for (const [, entry] of waiters) entry.resolve({ status: 'skipped', text: 'not run' });
      await running;
    },
  };
}
