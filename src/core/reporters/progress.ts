/**
 * Progress of long work as people read it: counts, elapsed time and an estimate of what is
 * left, shared by the live task list and the plain-line reporter.
 */
import type { EventOf } from '../events.js';

// 4.2s / 3m05s / 1h02m.
function clockText(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

/** `12/40 · abcflt!AbcAllocateContext+0x1a · 3.2s elapsed, about 7.5s left` for a step that started at `startedMs`. */
export function formatProgress(event: EventOf<'progress'>, startedMs: number): string {
  const elapsed = Math.max(0, Date.parse(event.time) - startedMs);
  const count = event.total !== undefined ? `${event.done}/${event.total}` : `${event.done}`;
  // A straight-line estimate from the rate so far; none before the first unit of work is done.
  const left = event.total !== undefined && event.done > 0 && event.done < event.total ? (elapsed * (event.total - event.done)) / event.done : undefined;
  const timing = `${clockText(elapsed)} elapsed${left !== undefined ? `, about ${clockText(left)} left` : ''}`;
  return [count, event.message, timing].filter(Boolean).join(' · ');
}

/** Remembers when each step started, for elapsed times and estimates. */
export class StepClock {
  private readonly started = new Map<string, number>();

  start(event: EventOf<'stepStart'>): void {
    this.started.set(event.step, Date.parse(event.time));
  }

  /** When the step started (the event's own time when the start was not seen). */
  startOf(event: EventOf<'progress'>): number {
    return this.started.get(event.step) ?? Date.parse(event.time);
  }
}
