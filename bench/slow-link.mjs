/**
 * Benchmark 2: time per stack over a slow link. The simulator process runs with
 * `--latency 20 --bandwidth 11520` (20 ms per response, a 115,200-baud serial port) behind a
 * `process:` target, and collect-stacks runs in fast mode. The link's limit is the bytes the
 * debugger printed during the collect step divided by the bandwidth; the figure is the step's
 * time over that limit. Per-hit mode over the same link is shown beside it.
 */
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { collectOnce } from './round-trips.mjs';
import { cli, receivedBytes, root, tempDir } from './lib/run-dir.mjs';
import { summarize } from './lib/stats.mjs';

/** Bytes per second of the simulated link (115,200 baud, 10 bits a byte). */
export const BANDWIDTH = 11520;
/** Milliseconds the simulated link adds to every response. */
export const LATENCY_MS = 20;

/** A `process:` target running the simulator behind the slow link. */
export function slowTarget() {
  const scenario = join(root, 'bench', 'scenarios', 'tagged-default.yaml');
  return `process:${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} sim --scenario ${JSON.stringify(scenario)} --latency ${LATENCY_MS} --bandwidth ${BANDWIDTH}`;
}

// Per run: ms per stack, the link's limit per stack, and their ratio.
function measure(result) {
  const bytes = receivedBytes(result.transcript, result.window);
  const limitMs = (bytes / BANDWIDTH) * 1000;
  return { perStackMs: result.window.durationMs / result.stacks, limitPerStackMs: limitMs / result.stacks, ratio: result.window.durationMs / limitMs, bytesPerStack: bytes / result.stacks, exchanges: result.sent.length };
}

/** Run the benchmark: fast and per-hit alternately, `runs` times each. */
export async function run({ runs }) {
  const dir = tempDir();
  const fast = [];
  const perHit = [];
  try {
    for (let index = 0; index < runs; index++) {
      fast.push(measure(await collectOnce({ mode: 'fast', count: 120, target: slowTarget(), dir })));
      perHit.push(measure(await collectOnce({ mode: 'per-hit', count: 20, target: slowTarget(), dir })));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const detail = (results) => ({ msPerStack: summarize(results.map((r) => r.perStackMs)), linkLimitMsPerStack: summarize(results.map((r) => r.limitPerStackMs)), bytesPerStack: summarize(results.map((r) => r.bytesPerStack)), exchanges: summarize(results.map((r) => r.exchanges)) });
  return [
    { id: 'slowlink.fast.ratio', readme: `Time per stack over a ${LATENCY_MS} ms, ${BANDWIDTH} B/s link, fast mode ÷ the link's limit`, name: `fast mode, 120 stacks at ${LATENCY_MS} ms / ${BANDWIDTH} B/s: time per stack ÷ link limit`, unit: '×', ...summarize(fast.map((r) => r.ratio)), goal: { op: '<=', value: 1.25 }, detail: detail(fast) },
    { id: 'slowlink.fast.msPerStack', name: 'fast mode over the slow link: time per stack', unit: 'ms', ...summarize(fast.map((r) => r.perStackMs)) },
    { id: 'slowlink.perhit.ratio', name: 'per-hit mode, 20 stacks, same link: time per stack ÷ link limit', unit: '×', ...summarize(perHit.map((r) => r.ratio)), detail: detail(perHit) },
    { id: 'slowlink.perhit.msPerStack', name: 'per-hit mode over the slow link: time per stack', unit: 'ms', ...summarize(perHit.map((r) => r.perStackMs)) },
  ];
}

/** Registry entry for bench/run.mjs. */
export default { id: 'slowlink', title: '2. Time per stack over a slow link', run };
