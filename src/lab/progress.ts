/**
 * A lab's live task list on a TTY, drawn by listr2 the way a single run's is
 * (src/core/reporters/listr.ts): a first line for the lab as a whole (finished, succeeded, not,
 * running, waiting) and one line per target with the step it is on and, under it, that step's
 * progress. The lab runs the targets; the list only shows them: each target's task waits for its
 * record.
 *
 * @see ../../README.md#a-lab-of-targets
 */
import type { EventOf, Reporter } from '../core/events.js';
import { drawListr, PROGRESS_REDRAW_MS, redrawThrottle, type ListrRendererName, type ListrTaskHandle, type ListrTaskSpec } from '../core/reporters/listr.js';
import { formatProgress, StepClock } from '../core/reporters/progress.js';
import type { LabTarget } from './inventory.js';
import type { LabCounts, LabNews, LabView, TargetRecord } from './run.js';

// What the list knows of one target.
interface TargetLine {
  target: LabTarget;
  task?: ListrTaskHandle;
  /** The title to show (kept until listr2 starts the target's task). */
  title: string;
  output?: string;
  /** The ids of the run's steps in order, and how many are main steps (the rest are cleanup). */
  steps: string[];
  mainSteps: number;
  /** The last step summary (the verdict's, at the end). */
  summary?: string;
  /** Why it failed, as it said last (a failed step, an error or warning). */
  cause?: string;
  record?: TargetRecord;
  settle(record: TargetRecord): void;
  ended: Promise<TargetRecord>;
}

// 12.3s / 4m05s.
function duration(ms: number): string {
  const seconds = ms / 1000;
  return seconds < 60 ? `${seconds.toFixed(1)}s` : `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
}

/** The lab's first line: `lab  3/13 finished (2 succeeded, 1 not) · 4 running · 6 waiting`. */
export function labTitle(counts: LabCounts, labDir: string, stopping?: string): string {
  const state = `${counts.finished}/${counts.total} finished (${counts.succeeded} succeeded, ${counts.failed} not) · ${counts.running} running · ${counts.waiting} waiting`;
  return `lab  ${state}${stopping ? ` · ${stopping}` : ''}  → ${labDir}`;
}

/** Options of createListrLabView. */
export interface ListrLabViewOptions {
  /** The targets the lab runs (not those it skips). */
  targets: readonly LabTarget[];
  parallel: number;
  /** The lab directory as shown. */
  labDir: string;
  renderer?: ListrRendererName;
  redrawMs?: number;
  /** What draws the tasks (tests: a stand-in that runs them); default listr2. */
  draw?: typeof drawListr;
}

/** The live task list of a lab run. */
export function createListrLabView(options: ListrLabViewOptions): LabView {
  const lines = new Map<string, TargetLine>();
  for (const target of options.targets) {
    let settle!: (record: TargetRecord) => void;
    const ended = new Promise<TargetRecord>((resolve) => (settle = resolve));
    lines.set(target.name, { target, title: `${target.name}  ${target.shownSpec}`, steps: [], mainSteps: 0, settle, ended });
  }
  // Every change goes through these, so a target whose task listr2 has not started yet shows it once it does.
  const setTitle = (line: TargetLine, title: string) => {
    line.title = title;
    if (line.task) line.task.title = title;
  };
  const setOutput = (line: TargetLine, text: string) => {
    line.output = text;
    if (line.task) line.task.output = text;
  };
  const progress = redrawThrottle(options.redrawMs ?? PROGRESS_REDRAW_MS, (name, text) => setOutput(lines.get(name)!, text));
  let labTask: ListrTaskHandle | undefined;
  let counts: LabCounts = { finished: 0, succeeded: 0, failed: 0, running: 0, waiting: options.targets.length, total: options.targets.length };
  let stopping: string | undefined;
  const showLab = () => {
    if (labTask) labTask.title = labTitle(counts, options.labDir, stopping);
  };
  let labEnded!: () => void;
  const labDone = new Promise<void>((resolve) => (labEnded = resolve));

  const tasks: ListrTaskSpec[] = [
    {
      title: labTitle(counts, options.labDir),
      task: async (_, task) => {
        labTask = task;
        showLab();
        await labDone;
        showLab();
      },
    },
    ...[...lines.values()].map((line): ListrTaskSpec => ({
      title: line.title,
      task: async (_, task) => {
        line.task = task;
        task.title = line.title;
        if (line.output !== undefined) task.output = line.output;
        const record = await line.ended;
        if (record.status === 'succeeded') task.title = `${line.target.name}  succeeded${record.durationMs !== undefined ? ` in ${duration(record.durationMs)}` : ''}${line.summary ? ` · ${line.summary}` : ''}`;
        else if (record.status === 'not-run') task.skip(`${line.target.name}: not run (the lab was stopped first)`);
        else throw new Error(`${line.target.name}: ${record.status}${record.exitCode !== undefined ? ` (exit ${record.exitCode})` : ''}${line.cause ? ` · ${line.cause}` : ''}`);
      },
    })),
  ];
  // The lab's line runs throughout; the targets show as running as many at once as the lab runs them.
  const drawing = (options.draw ?? drawListr)(tasks, { concurrent: options.parallel + 1, ...(options.renderer && { renderer: options.renderer }) });

  return {
    reporter(target: LabTarget): Reporter {
      const line = lines.get(target.name)!;
      const clock = new StepClock();
      return {
        name: 'listr-lab',
        onRunStart(e: EventOf<'runStart'>) {
          line.steps = e.steps.map((step) => step.id);
          line.mainSteps = e.steps.filter((step) => step.section === 'steps').length;
        },
        onStepStart(e: EventOf<'stepStart'>) {
          clock.start(e);
          const index = line.steps.indexOf(e.step);
          const where = index < 0 ? e.step : index < line.mainSteps ? `step ${index + 1}/${line.mainSteps} ${e.step}` : `cleanup ${e.step}`;
          setTitle(line, `${target.name}  ${where}  ${e.uses} → ${e.plugin}/${e.provider}`);
          setOutput(line, '');
        },
        onProgress(e: EventOf<'progress'>) {
          progress.show(target.name, formatProgress(e, clock.startOf(e)));
        },
        onStepEnd(e: EventOf<'stepEnd'>) {
          progress.drop(target.name);
          if (e.summary) line.summary = e.summary;
          if (e.status === 'failed') {
            line.cause = `${e.step} failed: ${e.error?.code} ${e.error?.message}`;
            setOutput(line, line.cause);
          }
        },
        onLog(e: EventOf<'log'>) {
          if (e.level !== 'warn' && e.level !== 'error') return;
          line.cause = e.message;
          setOutput(line, e.message);
        },
      };
    },
    news(news: LabNews) {
      counts = news.counts;
      showLab();
      if (news.event === 'target-start' && news.target) setTitle(lines.get(news.target.name)!, `${news.target.name}  connecting to ${news.target.shownSpec}`);
      if (news.event === 'target-timeout' && news.target) setOutput(lines.get(news.target.name)!, news.text);
      if (news.event === 'target-end' && news.target && news.record) {
        progress.drop(news.target.name);
        lines.get(news.target.name)!.settle(news.record);
      }
    },
    stopping(stops: number) {
      stopping = stops === 1 ? 'stopping: each running target runs its cleanup' : 'stopping: cleanup steps skipped, writes still restored';
      showLab();
    },
    async close(records: readonly TargetRecord[]) {
      progress.dropAll();
      const notRun = records.filter((record) => record.status === 'not-run').length;
      counts = { ...counts, running: 0, waiting: 0 };
      stopping = notRun ? `${notRun} not run (stopped first)` : undefined;
      showLab();
      // Targets a stop kept from starting end as not-run.
      for (const record of records) lines.get(record.name)?.settle(record);
      for (const line of lines.values()) line.settle({ name: line.target.name, spec: line.target.shownSpec, labels: line.target.labels, runner: line.target.runner, status: 'not-run' });
      labEnded();
      await drawing;
    },
  };
}
