/**
 * Benchmark 3: parser throughput on 50 MB of mixed kd output (`!poolused`, stacks, breaks),
 * as a ratio to a bare line split (`text.split('\n')`) of the same string, measured side by
 * side in one worker process. The corpus is the real fixtures of test/fixtures/kd, repeated
 * with their numbers and addresses mutated (same widths, so kd's columns stay aligned).
 *
 * Two paths are measured: `parseAuto` (src/kd/auto.ts) on the whole log, the path
 * `leakhunt analyze` takes, and each kind's own parser on the outputs of that kind.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { runWorker } from './lib/child.mjs';
import { cpuMs, nowMs, summarize } from './lib/stats.mjs';

const fixtureDir = new URL('../test/fixtures/kd/', import.meta.url);

// Fixtures of the three kinds the issue names; a fixture that starts with output rather than a
// prompt gets the command that prints it (`!poolused 4`, `kb`, `g`), as a kd log would show it.
const kinds = [
  { kind: 'poolused', pattern: /^poolused-/, command: '!poolused 4' },
  { kind: 'stack', pattern: /^(?:k|kb|kc|kn|kp|kv)-/, command: 'kb' },
  { kind: 'break', pattern: /^(?:bphit|break|breakin|step)-/, command: 'g' },
];

// A small seeded generator (mulberry32): the same corpus on every run and machine.
function rng(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// New digits of the same width for addresses and counts (hex stays hex, decimal stays decimal);
// exception codes (`code 80000003`) are kept, since they name the kind of stop.
function mutate(text, random) {
  const hex = '0123456789abcdef';
  const digit = (base) => hex[Math.floor(random() * base)];
  return text
    .replace(/(?<!code )\b[0-9a-f]{8}(?:`[0-9a-f]{8})?\b/g, (word) => (/^\d{8}$/.test(word) ? word : word.replace(/[0-9a-f]/g, () => digit(16))))
    .replace(/(?<=\s)(?<!code )[1-9]\d{2,}(?=\s)/g, (number) => String(1 + Math.floor(random() * 9)) + number.slice(1).replace(/\d/g, () => digit(10)));
}

/** Bodies (header removed) of the fixtures of each kind, each starting at a prompt. */
export async function fixtureBodies() {
  const { prepareTranscript } = await import(new URL('../dist/src/kd/auto.js', import.meta.url));
  const names = readdirSync(fixtureDir).filter((name) => name.endsWith('.txt'));
  const bodies = [];
  for (const { kind, pattern, command } of kinds) {
    for (const name of names.filter((candidate) => pattern.test(candidate))) {
      let body = prepareTranscript(readFileSync(new URL(name, fixtureDir), 'utf8')).replace(/\r\n/g, '\n').trimEnd();
      if (!/^\s{0,2}(?:\d+: )?kd> /.test(body)) {
        // A stop printed before the first prompt (a bugcheck's break) came from `g`.
        const leading = body.split(/\n\s{0,2}(?:\d+: )?kd> /)[0];
        body = `kd> ${/Fatal System Error|Break instruction exception|Breakpoint \d+ hit/.test(leading) ? 'g' : command}\n${body}`;
      }
      bodies.push({ kind, name, body });
    }
  }
  return bodies;
}

/** A kd log of about `bytes` bytes: fixtures in random order, each copy with fresh numbers. */
export async function buildCorpus(bytes, seed = 8) {
  const random = rng(seed);
  const bodies = await fixtureBodies();
  const parts = [];
  let size = 0;
  while (size < bytes) {
    const { body } = bodies[Math.floor(random() * bodies.length)];
    const copy = `${mutate(body, random)}\n`;
    parts.push(copy);
    size += copy.length;
  }
  return { text: parts.join(''), fixtures: bodies.map((b) => b.name) };
}

// Time one call in wall and CPU milliseconds.
function timed(run) {
  const wall = nowMs();
  const cpu = cpuMs();
  const value = run();
  return { wallMs: nowMs() - wall, cpuMs: cpuMs() - cpu, value };
}

/** Worker tasks (run in a fresh process by runWorker). */
export const tasks = {
  async auto({ megabytes, runs }) {
    const { parseAuto } = await import(new URL('../dist/src/kd/auto.js', import.meta.url));
    const { getParser } = await import(new URL('../dist/src/kd/index.js', import.meta.url));
    const { text, fixtures } = await buildCorpus(megabytes * 2 ** 20);
    const bytes = Buffer.byteLength(text);
    const split = [];
    const auto = [];
    let entries = 0;
    let kindsSeen = {};
    let parseErrors = 0;
    // Alternate baseline and parser, so load on the machine hits both alike.
    for (let run = 0; run < runs; run++) {
      split.push(timed(() => text.split('\n').length).wallMs);
      globalThis.gc?.();
      const parsed = timed(() => parseAuto(text));
      auto.push(parsed.wallMs);
      entries = parsed.value.entries.length;
      kindsSeen = {};
      parseErrors = 0;
      for (const entry of parsed.value.entries) {
        kindsSeen[entry.kind ?? 'none'] = (kindsSeen[entry.kind ?? 'none'] ?? 0) + 1;
        if (entry.parseError) parseErrors++;
      }
      globalThis.gc?.();
    }
    // Each kind's own parser on that kind's outputs, against a split of the same outputs.
    const byKind = {};
    const first = parseAuto(text).entries;
    for (const kind of ['poolused', 'stack', 'break']) {
      const outputs = first.filter((entry) => entry.kind === kind && entry.output.trim() !== '').map((entry) => ({ output: entry.output, command: entry.command }));
      const parser = getParser(kind);
      const kindBytes = outputs.reduce((sum, entry) => sum + Buffer.byteLength(entry.output), 0);
      const own = [];
      const ownSplit = [];
      for (let run = 0; run < runs; run++) {
        ownSplit.push(timed(() => {
          let lines = 0;
          for (const entry of outputs) lines += entry.output.split('\n').length;
          return lines;
        }).wallMs);
        own.push(timed(() => {
          let failed = 0;
          for (const entry of outputs) {
            try {
              parser.parse(entry.output, kind === 'break' ? { command: entry.command } : undefined);
            } catch {
              failed++;
            }
          }
          return failed;
        }).wallMs);
      }
      byKind[kind] = { outputs: outputs.length, bytes: kindBytes, parseMs: own, splitMs: ownSplit };
    }
    return { bytes, fixtures, entries, kinds: kindsSeen, parseErrors, splitMs: split, autoMs: auto, byKind };
  },
};

// Throughput ratios per run (split time / parse time = parser MB/s ÷ split MB/s).
function ratios(parseMs, splitMs) {
  return parseMs.map((ms, index) => splitMs[index] / ms);
}

/** Run the benchmark; `runs` repetitions inside one worker. */
export async function run({ runs, megabytes = 50 }) {
  const result = await runWorker(import.meta.url, 'auto', { megabytes, runs }, ['--expose-gc', '--max-old-space-size=4096']);
  const mb = result.bytes / 2 ** 20;
  const rows = [
    {
      id: 'parse.auto.ratio',
      name: `parseAuto on ${mb.toFixed(0)} MB mixed kd log ÷ bare line split`,
      unit: '×',
      readme: `Parser throughput (parseAuto, ${mb.toFixed(0)} MB of mixed kd output) ÷ a bare line split`,
      ...summarize(ratios(result.autoMs, result.splitMs)),
      goal: { op: '>=', value: 0.3 },
      detail: {
        autoMBps: summarize(result.autoMs.map((ms) => mb / (ms / 1000))),
        splitMBps: summarize(result.splitMs.map((ms) => mb / (ms / 1000))),
        entries: result.entries,
        kinds: result.kinds,
        parseErrors: result.parseErrors,
        peakRssMiB: Math.round(result.peakRssMiB),
        fixtures: result.fixtures.length,
      },
    },
    {
      id: 'parse.auto.MBps',
      name: 'parseAuto throughput',
      unit: 'MB/s',
      ...summarize(result.autoMs.map((ms) => mb / (ms / 1000))),
    },
  ];
  for (const [kind, figures] of Object.entries(result.byKind)) {
    const kindMb = figures.bytes / 2 ** 20;
    rows.push({
      id: `parse.${kind}.ratio`,
      name: `${kind} parser alone on its ${kindMb.toFixed(1)} MB (${figures.outputs} outputs) ÷ line split`,
      unit: '×',
      ...summarize(ratios(figures.parseMs, figures.splitMs)),
      detail: { MBps: summarize(figures.parseMs.map((ms) => kindMb / (ms / 1000))) },
    });
  }
  return rows;
}

/** Registry entry for bench/run.mjs. */
export default { id: 'parse', title: '3. Parser throughput', run };
