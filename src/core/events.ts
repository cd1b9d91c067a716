/**
 * The engine's events and the bus that hands them to reporters. Reporters observe only:
 * they are called in parallel, their return values and failures are ignored by the run.
 *
 * @see ../../docs/playbooks.md#events
 */
import type { StepStatus } from './types.js';

/** How a run ended. */
export type RunOutcome = 'succeeded' | 'failed' | 'aborted';

/** One step as announced at the start of a run. */
export interface PlannedStepSummary {
  id: string;
  name?: string;
  uses: string;
  section: 'steps' | 'always';
  plugin: string;
  provider: string;
}

/** A coded error as events carry it. */
export interface EventError {
  code: string;
  message: string;
  hint?: string;
  location?: { file: string; line: number; column: number };
}

/** Every event of a run; `event` names the reporter hook (`stepEnd` → onStepEnd). */
export type RunEvent =
  | { event: 'runStart'; time: string; playbook: string; file: string; check: boolean; runDir?: string; target: { kind: string; spec: string; os: string; arch: string }; steps: PlannedStepSummary[] }
  | { event: 'stepStart'; time: string; step: string; name?: string; uses: string; section: 'steps' | 'always'; plugin: string; provider: string; /** Why this provider was chosen on this target (one sentence). */ selected?: string; attempt: number; /** Bytes in each collected-data file (src/core/resume.ts collectedDataFiles) as the step started: what a resumed run keeps. */ dataBytes?: Record<string, number> }
  | { event: 'stepEnd'; time: string; step: string; uses: string; section: 'steps' | 'always'; status: StepStatus; durationMs: number; attempts: number; outputs: Record<string, unknown>; summary?: string; reason?: string; error?: EventError; commands?: string[] }
  | { event: 'log'; time: string; level: 'debug' | 'info' | 'warn' | 'error'; step?: string; message: string }
  | { event: 'progress'; time: string; step: string; done: number; total?: number; message?: string }
  | { event: 'runEnd'; time: string; status: RunOutcome; durationMs: number; counts: Record<StepStatus, number>; restoredWrites: number; error?: EventError };

/** The name of an event. */
export type RunEventName = RunEvent['event'];

/** The event with a given name. */
export type EventOf<N extends RunEventName> = Extract<RunEvent, { event: N }>;

/** Reporter hook per event name; typed as a Record so a new event fails compilation until it has a hook. */
export const reporterHooks = {
  runStart: 'onRunStart',
  stepStart: 'onStepStart',
  stepEnd: 'onStepEnd',
  log: 'onLog',
  progress: 'onProgress',
  runEnd: 'onRunEnd',
} as const satisfies Record<RunEventName, `on${string}`>;

/** Observes a run; never changes it. */
export interface Reporter {
  name: string;
  onRunStart?(event: EventOf<'runStart'>): void | Promise<void>;
  onStepStart?(event: EventOf<'stepStart'>): void | Promise<void>;
  onStepEnd?(event: EventOf<'stepEnd'>): void | Promise<void>;
  onLog?(event: EventOf<'log'>): void | Promise<void>;
  onProgress?(event: EventOf<'progress'>): void | Promise<void>;
  onRunEnd?(event: EventOf<'runEnd'>): void | Promise<void>;
  /** Finish output (stop a live renderer); awaited once at the end. */
  close?(): void | Promise<void>;
}

/** Hands each event to every reporter and to the sinks (events.jsonl). */
export class EventBus {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly sinks: ((event: RunEvent) => void)[] = [];

  constructor(private readonly reporters: readonly Reporter[] = []) {}

  /** Add a synchronous sink that sees every event first (the run directory's events.jsonl). */
  addSink(sink: (event: RunEvent) => void): void {
    this.sinks.push(sink);
  }

  /** Deliver an event: sinks synchronously, reporters in parallel. */
  emit(event: RunEvent): void {
    for (const sink of this.sinks) sink(event);
    const hook = reporterHooks[event.event];
    for (const reporter of this.reporters) {
      const fn = reporter[hook] as ((e: RunEvent) => void | Promise<void>) | undefined;
      if (!fn) continue;
      try {
        const result = fn.call(reporter, event);
        if (result && typeof (result as Promise<void>).then === 'function') {
          const tracked = (result as Promise<void>).catch(() => undefined);
          this.pending.add(tracked);
          void tracked.finally(() => this.pending.delete(tracked));
        }
      } catch {
        // A reporter's failure must never change the run.
      }
    }
  }

  /** Wait for reporters' pending work and close them. */
  async close(): Promise<void> {
    await Promise.all([...this.pending]);
    for (const reporter of this.reporters) {
      try {
        await reporter.close?.();
      } catch {
        // Closing output is best effort.
      }
    }
  }
}

/** ISO time of now, for events. */
export function now(): string {
  return new Date().toISOString();
}
