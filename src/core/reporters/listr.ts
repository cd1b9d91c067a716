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
 * How often a step's line of progress is redrawn at most. listr2 redraws the whole task list on
 * every change of a task's output, and measures the display width of every word of it
 * (string-width segments each line into graphemes): 12 ms or more a redraw, and collect-stacks
 * reports each stack. Unthrottled, the drawing slowed a collection about 40 times; at 200 ms it
 * still cost 0.61× of piped throughput on a busy machine (bench: stacks per second with and
 * without a TTY). Once a second is as often as a person reads a count.
 */
export const PROGRESS_REDRAW_MS = 1000;

/** Which listr2 renderer draws: the live one on a TTY; tests may force another. */
export type ListrRendererName = 'default' | 'simple' | 'test' | 'verbose';

/**
 * A line of progress per key (a step, a lab target) drawn at most once every `redrawMs`; the
 * latest text waiting for its turn wins.
 */
export function redrawThrottle(redrawMs: number, draw: (key: string, text: string) => void): { show(key: string, text: string): void; drop(key: string): void; dropAll(): void } {
  // Per key: when its progress was last drawn, and the latest text waiting for its turn.
  const drawn = new Map<string, number>();
  const waiting = new Map<string, { text: string; timer: NodeJS.Timeout }>();
  const drop = (key: string) => {
    clearTimeout(waiting.get(key)?.timer);
    waiting.delete(key);
  };
  return {
    show(key, text) {
      const pending = waiting.get(key);
      if (pending) {
        pending.text = text;
        return;
      }
      const due = (drawn.get(key) ?? 0) + redrawMs - Date.now();
      if (due <= 0) {
        drawn.set(key, Date.now());
        draw(key, text);
        return;
      }
      const timer = setTimeout(() => {
        const latest = waiting.get(key);
        waiting.delete(key);
        drawn.set(key, Date.now());
        if (latest) draw(key, latest.text);
      }, due);
      timer.unref();
      waiting.set(key, { text, timer });
    },
    drop,
    dropAll() {
      for (const key of [...waiting.keys()]) drop(key);
    },
  };
}

/** A task as listr2 hands it to a task function: what leakhunt's lists change on it. */
export interface ListrTaskHandle {
  title: string;
  output: string;
  skip(message?: string): void;
}

/** A task of a list: its title, and the function that runs while the task shows as running. */
export interface ListrTaskSpec {
  title: string;
  task(context: unknown, task: ListrTaskHandle): Promise<void>;
}

/**
 * Draw a task list with listr2 (imported here, when a run starts on a TTY, so start-up of every
 * other command stays fast); resolves when the list has ended. `concurrent`: how many tasks show
 * as running at once (false: one after the other).
 */
export async function drawListr(tasks: ListrTaskSpec[], options: { concurrent?: boolean | number; renderer?: ListrRendererName } = {}): Promise<void> {
  const { Listr } = await import('listr2');
  // registerSignalListeners: false — listr2's own SIGINT listener ends the process, which
  // would skip the run's cleanup (PoolHitTag, patched bytes, a halted target); the hunt and the
  // lab take the signals themselves (src/cli/commands/run.ts, lab.ts).
  const list = new Listr(tasks, { concurrent: options.concurrent ?? false, exitOnError: false, registerSignalListeners: false, renderer: options.renderer ?? 'default', rendererOptions: { collapseSubtasks: false, lazy: true } } as never);
  await list.run().catch(() => undefined);
}

/** A reporter that draws listr2's live task list; `renderer` may be forced for tests. */
export function createListrReporter(options: { renderer?: ListrRendererName; redrawMs?: number } = {}): Reporter {
  const waiters = new Map<string, { resolve: (ending: Ending) => void; promise: Promise<Ending> }>();
  const outputs = new Map<string, (text: string) => void>();
  const progress = redrawThrottle(options.redrawMs ?? PROGRESS_REDRAW_MS, (step, text) => outputs.get(step)?.(text));
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
      const tasks = e.steps.map((step): ListrTaskSpec => ({
        title: `${step.name ?? step.id}  ${step.uses} → ${step.plugin}/${step.provider}${step.section === 'always' ? '  (cleanup)' : ''}`,
        task: async (_, task) => {
          outputs.set(step.id, (text) => (task.output = text));
          const ending = await waiter(step.id).promise;
          if (ending.status === 'skipped') task.skip(`${step.name ?? step.id}: ${ending.text}`);
          else if (ending.status === 'failed') throw new Error(ending.text);
          else task.title = `${task.title}  ${ending.text}`;
        },
      }));
      running = drawListr(tasks, { ...(options.renderer && { renderer: options.renderer }) });
    },
    onStepStart(e: EventOf<'stepStart'>) {
      steps.start(e);
    },
    onStepEnd(e: EventOf<'stepEnd'>) {
      progress.drop(e.step);
      const text = e.status === 'failed' ? `${e.error?.code} ${e.error?.message}` : e.status === 'skipped' ? (e.reason ?? '') : `${e.status} ${(e.durationMs / 1000).toFixed(1)}s${e.summary ? ` ${e.summary}` : ''}`;
      waiter(e.step).resolve({ status: e.status, text: e.commands ? `${e.commands.join(' ; ') || '(no commands)'}` : text });
    },
    onLog(e: EventOf<'log'>) {
      if (e.step && e.level !== 'debug') outputs.get(e.step)?.(e.message);
    },
    onProgress(e: EventOf<'progress'>) {
      progress.show(e.step, formatProgress(e, steps.startOf(e)));
    },
    async onRunEnd() {
      // Steps that never ran (the run ended early) are closed as skipped.
      for (const [, entry] of waiters) entry.resolve({ status: 'skipped', text: 'not run' });
    },
    async close() {
      progress.dropAll();
      for (const [, entry] of waiters) entry.resolve({ status: 'skipped', text: 'not run' });
      await running;
    },
  };
}
