/**
 * Plain timestamped lines, for logs and terminals that are not a TTY.
 */
import type { EventOf, Reporter } from '../events.js';
import { formatProgress, StepClock } from './progress.js';

/** Where reporters write. */
export interface TextSink {
  write(text: string): unknown;
}

// HH:MM:SS of an event's ISO time, in local time.
function clock(iso: string): string {
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

// 1.2s / 340ms.
function duration(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${ms}ms`;
}

/**
 * A reporter that prints one timestamped line per event; progress of long work at most once
 * every `progressEveryMs` per step (default 5 s), so a log shows it without drowning in it.
 */
export function createPlainReporter(out: TextSink, options: { verbose?: boolean; progressEveryMs?: number } = {}): Reporter {
  const line = (time: string, label: string, text: string) => out.write(`${clock(time)} ${label.padEnd(8)}${text}\n`);
  const steps = new StepClock();
  const lastProgress = new Map<string, number>();
  const every = options.progressEveryMs ?? 5000;
  return {
    name: 'plain',
    onRunStart(e: EventOf<'runStart'>) {
      const main = e.steps.filter((s) => s.section === 'steps').length;
      line(e.time, e.check ? 'check' : 'run', `${e.playbook} on ${e.target.kind} ${e.target.os} ${e.target.arch} (${main} steps, ${e.steps.length - main} cleanup)${e.runDir ? ` → ${e.runDir}` : ''}`);
    },
    onStepStart(e: EventOf<'stepStart'>) {
      steps.start(e);
      lastProgress.set(e.step, Date.parse(e.time));
      line(e.time, 'start', `${e.step}  ${e.uses} → ${e.plugin}/${e.provider}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`);
    },
    onStepEnd(e: EventOf<'stepEnd'>) {
      if (e.commands) {
        line(e.time, 'check', `${e.step}  ${e.uses}: ${e.commands.length ? e.commands.join(' ; ') : '(no debugger commands)'}${e.reason ? `  [${e.reason.replace(/^check mode: /, '')}]` : ''}`);
        return;
      }
      const detail = e.status === 'failed' ? `${e.error?.code} ${e.error?.message}` : e.status === 'skipped' ? (e.reason ?? '') : (e.summary ?? '');
      line(e.time, e.status, `${e.step}  ${duration(e.durationMs)}${detail ? `  ${detail}` : ''}`);
    },
    onProgress(e: EventOf<'progress'>) {
      const at = Date.parse(e.time);
      if (at - (lastProgress.get(e.step) ?? 0) < every) return;
      lastProgress.set(e.step, at);
      line(e.time, 'progress', `${e.step}  ${formatProgress(e, steps.startOf(e))}`);
    },
    onLog(e: EventOf<'log'>) {
      if (e.level === 'debug' && !options.verbose) return;
      line(e.time, e.level, `${e.step ? `${e.step}  ` : ''}${e.message}`);
    },
    onRunEnd(e: EventOf<'runEnd'>) {
      const c = e.counts;
      line(e.time, 'end', `${e.status} in ${duration(e.durationMs)} (ok ${c.ok}, changed ${c.changed}, skipped ${c.skipped}, failed ${c.failed})${e.restoredWrites ? `; engine restored ${e.restoredWrites} memory write(s)` : ''}${e.error ? `: ${e.error.code} ${e.error.message}` : ''}`);
    },
  };
}
