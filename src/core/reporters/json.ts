/**
 * `--json`: one JSON object per line per event, for scripts.
 */
import type { Reporter, RunEvent } from '../events.js';
import type { TextSink } from './plain.js';

/** A reporter that writes each event as one JSON line. */
export function createJsonReporter(out: TextSink): Reporter {
  const write = (event: RunEvent) => {
    out.write(`${JSON.stringify(event)}\n`);
  };
  return { name: 'json', onRunStart: write, onStepStart: write, onStepEnd: write, onLog: write, onProgress: write, onRunEnd: write };
}
