// Load (issue 7 §5): one collect-stacks run of many PoolHitTag breaks against the simulator
// process, in this process, through the real connect path and engine, with the heap sampled
// (after a forced GC) while it runs. Shared by the fast variant and the long run.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { EventBus } from '../../src/core/events.js';
import { parseInputArgs, resolveInputs } from '../../src/core/inputs.js';
import { loadPlaybook } from '../../src/core/load.js';
import { planPlaybook } from '../../src/core/plan.js';
import { loadRegistry } from '../../src/core/registry.js';
import { createRunFiles, recordEvents } from '../../src/core/run-files.js';
import { runPlan } from '../../src/core/run.js';
import { connectTarget } from '../../src/debuggers/connect.js';
import { createTargetMemory } from '../../src/debuggers/memory.js';
import { root, scenario } from './harness.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** What one load run measured. */
export interface LoadFigures {
  breaks: number;
  stacksOnDisk: number;
  status: string;
  /** Heap used after GC just before the collect step, bytes. */
  baselineHeap: number;
  /** Highest heap used after GC while the run went on, bytes. */
  peakHeap: number;
  /** Transcript lines holding part of the stream (written as it arrived). */
  partialTranscriptLines: number;
  /** Longest transcript line, bytes (a stream kept whole would be one line of megabytes). */
  longestTranscriptLine: number;
  durationMs: number;
  runDir: string;
}

/** Collect `breaks` stacks in fast mode from the two-sites scenario and measure the heap. */
export async function collectUnderLoad(breaks: number, sampleEveryMs = 100): Promise<LoadFigures> {
  const registry = await loadRegistry({ dirs: [] });
  const loaded = loadPlaybook(join(root, 'playbooks/collect-stacks.yaml'), { registry });
  if (!loaded.playbook) throw new Error(loaded.errors.map((e) => e.message).join('; '));
  const inputs = resolveInputs(loaded.playbook.inputs, parseInputArgs(['tag=Xyz', `count=${breaks}`, 'mode=fast', 'timeout=10m']).given);
  const runDir = mkdtempSync(join(tmpdir(), 'leakhunt-load-'));
  const files = createRunFiles(runDir);
  const target = await connectTarget(`sim:${scenario}`, { runDir });
  const planned = planPlaybook(loaded.playbook, target.facts, registry);
  if (!planned.plan) throw new Error(planned.errors.map((e) => e.message).join('; '));
  const bus = new EventBus([]);
  recordEvents(bus, files);
  let baselineHeap = 0;
  let peakHeap = 0;
  let sampler: NodeJS.Timeout | undefined;
  bus.addSink((event) => {
    if (event.event === 'stepStart' && event.step === 'collect') {
      gc();
      baselineHeap = process.memoryUsage().heapUsed;
      peakHeap = baselineHeap;
      sampler = setInterval(() => {
        gc();
        peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      }, sampleEveryMs);
    }
    if (event.event === 'stepEnd' && event.step === 'collect') {
      clearInterval(sampler);
      gc();
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }
  });
  const started = Date.now();
  try {
    const result = await runPlan({ plan: planned.plan, target, inputs: inputs.values, files, bus, memory: createTargetMemory });
    const transcript = readFileSync(join(runDir, 'transcript.jsonl'), 'utf8').split('\n').filter(Boolean);
    return {
      breaks,
      stacksOnDisk: readFileSync(join(runDir, 'stacks.jsonl'), 'utf8').split('\n').filter(Boolean).length,
      status: result.status,
      baselineHeap,
      peakHeap,
      partialTranscriptLines: transcript.filter((line) => line.includes('"kind":"partial"')).length,
      longestTranscriptLine: Math.max(...transcript.map((line) => line.length)),
      durationMs: Date.now() - started,
      runDir,
    };
  } finally {
    clearInterval(sampler);
    await target.close({ resume: true });
    await bus.close();
  }
}
