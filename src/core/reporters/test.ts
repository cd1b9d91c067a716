/**
 * Compact JSON lines `{event, step, status}` for snapshot tests of runs.
 */
import type { Reporter, RunEvent } from '../events.js';

/** A reporter that keeps compact lines of what happened, in order. */
export function createTestReporter(): Reporter & { lines: string[] } {
  const lines: string[] = [];
  const push = (event: RunEvent) => {
    const compact: Record<string, unknown> = { event: event.event };
    if ('step' in event && event.step !== undefined) compact.step = event.step;
    if (event.event === 'stepEnd') {
      compact.status = event.status;
      if (event.error) compact.code = event.error.code;
    }
    if (event.event === 'runEnd') {
      compact.status = event.status;
      if (event.restoredWrites) compact.restored = event.restoredWrites;
    }
    if (event.event === 'log' && (event.level === 'warn' || event.level === 'error')) compact.level = event.level;
    else if (event.event === 'log') return;
    lines.push(JSON.stringify(compact));
  };
  return { name: 'test', lines, onRunStart: push, onStepStart: push, onStepEnd: push, onLog: push, onRunEnd: push };
}
