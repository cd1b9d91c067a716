/**
 * Benchmark 3: parser throughput on 50 MB of mixed kd output (`!poolused`, stacks, breaks),
 * as a ratio to a bare line split (`text.split('\n')`) of the same string, measured side by
 * side in one worker process. The corpus is the real fixtures of test/fixtures/kd, repeated
 * with their numbers and addresses mutated (same widths, so kd's columns stay aligned).
 *
 * The headline is `scanKdLog` (src/kd/log.ts): the log split into commands and every output
 * parsed, stacks, `!poolused` tables and stops into column tables, other outputs by their object
 * parsers. Shown beside it: `parseAuto`, the same scan with every result then built as objects
 * (the JSON of `leakhunt parse auto`), and each kind's column table and object parser alone on
 * the outputs of that kind. Once per run the two forms are checked to give the same JSON.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { seededRandom } from '../dist/src/sim/random.js';
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
  const random = seededRandom(seed);
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
    const { KdLog, scanKdLog } = await import(new URL('../dist/src/kd/log.js', import.meta.url));
    const { getParser } = await import(new URL('../dist/src/kd/index.js', import.meta.url));
    const { text, fixtures } = await buildCorpus(megabytes * 2 ** 20);
    const bytes = Buffer.byteLength(text);
    const split = [];
    const scan = [];
    const auto = [];
    // Alternate the baseline and the scan, so load on the machine hits both alike. No collection
    // is forced between them: a forced full collection (gc()) makes V8 drop type feedback and
    // recompile, which slowed the next scan by half again (about 460-500 ms instead of 290-330)
    // and is nothing a real run does. parseAuto's millions of objects are measured after, in a
    // loop of their own, so that their garbage is not collected inside a measured scan.
    for (let run = 0; run < runs; run++) {
      split.push(timed(() => text.split('\n').length).wallMs);
      scan.push(timed(() => scanKdLog(text).size).wallMs);
    }
    const autoSplit = [];
    for (let run = 0; run < runs; run++) {
      autoSplit.push(timed(() => text.split('\n').length).wallMs);
      auto.push(timed(() => parseAuto(text).entries.length).wallMs);
      globalThis.gc?.();
    }
    // What the scan found, and whether its results are the object parsers' (the same JSON).
    const log = scanKdLog(text);
    const kindsSeen = {};
    const inTables = {};
    let parseErrors = 0;
    for (let index = 0; index < log.size; index++) {
      const kind = log.kind(index) ?? 'none';
      kindsSeen[kind] = (kindsSeen[kind] ?? 0) + 1;
      if (log.tableRow(index) >= 0) inTables[kind] = (inTables[kind] ?? 0) + 1;
      if (log.parseError(index)) parseErrors++;
    }
    const hash = (value) => createHash('sha256').update(JSON.stringify(value)).digest('hex');
    const sameAsObjectParsers = hash(log.toAutoResult()) === hash(scanKdLog(text, { columns: false }).toAutoResult());
    // Each kind's table and object parser on that kind's outputs, against a split of the same outputs.
    const byKind = {};
    for (const kind of ['poolused', 'stack', 'break']) {
      const spans = [];
      for (let index = 0; index < log.size; index++) {
        if (log.kind(index) !== kind) continue;
        const [from, to] = log.outputSpan(index);
        if (from >= 0 && log.source.slice(from, to).trim() !== '') spans.push({ from, to, command: log.command(index) || 'g' });
      }
      const source = log.source;
      const parser = getParser(kind);
      const kindBytes = spans.reduce((sum, span) => sum + (span.to - span.from), 0);
      const ownSplit = [];
      const table = [];
      const object = [];
      const splitOutputs = () => {
        let lines = 0;
        for (const span of spans) lines += source.slice(span.from, span.to).split('\n').length;
        return lines;
      };
      // As above: the table alternating with the split, the object parser in a loop of its own.
      for (let run = 0; run < runs; run++) {
        ownSplit.push(timed(splitOutputs).wallMs);
        table.push(timed(() => {
          const tables = new KdLog(source).tables;
          let held = 0;
          for (const span of spans) if (tables[kind].scan(source, span.from, span.to, span.command) >= 0) held++;
          return held;
        }).wallMs);
      }
      const objectSplit = [];
      for (let run = 0; run < runs; run++) {
        objectSplit.push(timed(splitOutputs).wallMs);
        object.push(timed(() => {
          let failed = 0;
          for (const span of spans) {
            try {
              parser.parse(source.slice(span.from, span.to), kind === 'break' ? { command: span.command } : undefined);
            } catch {
              failed++;
            }
          }
          return failed;
        }).wallMs);
        globalThis.gc?.();
      }
      byKind[kind] = { outputs: spans.length, bytes: kindBytes, tableMs: table, objectMs: object, splitMs: ownSplit, objectSplitMs: objectSplit };
    }
    return { bytes, fixtures, entries: log.size, kinds: kindsSeen, inTables, parseErrors, sameAsObjectParsers, splitMs: split, scanMs: scan, autoSplitMs: autoSplit, autoMs: auto, byKind };
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
      id: 'parse.scan.ratio',
      name: `scanKdLog on ${mb.toFixed(0)} MB mixed kd log (every output parsed, results in columns) ÷ bare line split`,
      unit: '×',
      readme: `Parser throughput (scanKdLog, ${mb.toFixed(0)} MB of mixed kd output, every output parsed) ÷ a bare line split`,
      ...summarize(ratios(result.scanMs, result.splitMs)),
      goal: { op: '>=', value: 0.3 },
      detail: {
        scanMBps: summarize(result.scanMs.map((ms) => mb / (ms / 1000))),
        splitMBps: summarize(result.splitMs.map((ms) => mb / (ms / 1000))),
        entries: result.entries,
        kinds: result.kinds,
        heldInColumns: result.inTables,
        parseErrors: result.parseErrors,
        sameJsonAsObjectParsers: result.sameAsObjectParsers,
        peakRssMiB: Math.round(result.peakRssMiB),
        fixtures: result.fixtures.length,
      },
    },
    {
      id: 'parse.scan.MBps',
      name: 'scanKdLog throughput',
      unit: 'MB/s',
      ...summarize(result.scanMs.map((ms) => mb / (ms / 1000))),
    },
    {
      id: 'parse.auto.ratio',
      name: 'parseAuto (the same, then every result built as objects: the JSON of leakhunt parse auto) ÷ line split',
      unit: '×',
      ...summarize(ratios(result.autoMs, result.autoSplitMs)),
      detail: { autoMBps: summarize(result.autoMs.map((ms) => mb / (ms / 1000))) },
    },
  ];
  for (const [kind, figures] of Object.entries(result.byKind)) {
    const kindMb = figures.bytes / 2 ** 20;
    rows.push({
      id: `parse.${kind}.ratio`,
      name: `${kind} column table alone on its ${kindMb.toFixed(1)} MB (${figures.outputs} outputs) ÷ line split`,
      unit: '×',
      ...summarize(ratios(figures.tableMs, figures.splitMs)),
      detail: { MBps: summarize(figures.tableMs.map((ms) => kindMb / (ms / 1000))) },
    });
    rows.push({
      id: `parse.${kind}.object.ratio`,
      name: `${kind} object parser on the same outputs ÷ line split`,
      unit: '×',
      ...summarize(ratios(figures.objectMs, figures.objectSplitMs)),
    });
  }
  return rows;
}

/** Registry entry for bench/run.mjs. */
export default { id: 'parse', title: '3. Parser throughput', run };
