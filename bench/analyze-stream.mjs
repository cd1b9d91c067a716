/**
 * Benchmark 3: streaming analysis of a large saved kd log. `leakhunt analyze` (analyzeToRunDir,
 * what the command runs) on a 2 GB log: the process's peak RSS, and its wall time as a ratio to a
 * bare streamed line count of the same file (read as a stream in the same encoding, lines
 * counted by Node's line reader), the two run alternately in fresh processes so machine load
 * hits both alike. Shown beside it, without a goal: the ratio to a bare newline scan of the same
 * stream, which makes no line strings at all (a floor no line reader reaches).
 *
 * The log is written on the fly into a temporary directory (and removed at the end): the shape of
 * an overnight per-hit session — `g` and the stop it prints, a stack, again and again, a
 * `!poolused` now and then — made of the real fixtures in test/fixtures/kd (the PoolHitTag stop
 * and its `kvn`, the other stops and stacks, the `!poolused` tables), each copy with its
 * addresses and counts replaced by random digits of the same width.
 */
import { closeSync, createReadStream, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { runWorker } from './lib/child.mjs';
import { nowMs, summarize } from './lib/stats.mjs';

const fixtureDir = new URL('../test/fixtures/kd/', import.meta.url);
const dist = (path) => new URL(`../dist/src/${path}`, import.meta.url);

// The fixtures a per-hit session is made of, with how often each kind comes (per 100 commands).
const kinds = [
  { pattern: /^poolhittag-/, weight: 40 },
  { pattern: /^(?:k|kb|kc|kn|kp|kv)-/, weight: 30, command: 'kb' },
  { pattern: /^(?:bphit|break|breakin|step)-/, weight: 29, command: 'g' },
  { pattern: /^poolused-/, weight: 1, command: '!poolused 4' },
];

// New digits of the same width for addresses and counts (hex stays hex, decimal stays decimal);
// exception codes (`code 80000003`) and tags in arguments keep their meaning only by chance, as in real logs.
function mutate(text, random) {
  const hex = '0123456789abcdef';
  const digit = (base) => hex[Math.floor(random() * base)];
  return text
    .replace(/(?<!code )\b[0-9a-f]{8}(?:`[0-9a-f]{8})?\b/g, (word) => (/^\d{8}$/.test(word) ? word : word.replace(/[0-9a-f]/g, () => digit(16))))
    .replace(/(?<=\s)(?<!code )[1-9]\d{2,}(?=\s)/g, (number) => String(1 + Math.floor(random() * 9)) + number.slice(1).replace(/\d/g, () => digit(10)));
}

// Each kind's fixture bodies (header removed, CRLF as LF), each starting at a prompt.
async function bodies() {
  const { prepareTranscript } = await import(dist('kd/transcript.js'));
  const names = readdirSync(fixtureDir).filter((name) => name.endsWith('.txt'));
  return kinds.map(({ pattern, weight, command }) => ({
    weight,
    bodies: names
      .filter((name) => pattern.test(name))
      .map((name) => {
        const body = prepareTranscript(readFileSync(new URL(name, fixtureDir), 'utf8')).replace(/\r\n/g, '\n').trimEnd();
        return /^\s{0,2}(?:\d+: )?kd> /.test(body) ? body : `kd> ${command}\n${body}`;
      }),
  }));
}

/** Write a per-hit session log of at least `bytes` bytes to `path`; returns its size. */
export async function writeSessionLog(path, bytes, seed = 15) {
  const { seededRandom } = await import(dist('sim/seeded-random.js'));
  const random = seededRandom(seed);
  const groups = await bodies();
  const total = groups.reduce((sum, group) => sum + group.weight, 0);
  // A pool of mutated copies, drawn from at random: mutating 2 GB piece by piece would take minutes.
  const pool = groups.map((group) => Array.from({ length: 64 }, () => `${mutate(group.bodies[Math.floor(random() * group.bodies.length)], random)}\n`));
  const fd = openSync(path, 'w');
  let size = 0;
  try {
    while (size < bytes) {
      let batch = '';
      while (batch.length < 1 << 22) {
        let pick = random() * total;
        let group = 0;
        while (pick >= groups[group].weight) pick -= groups[group++].weight;
        batch += pool[group][Math.floor(random() * 64)];
      }
      size += writeSync(fd, batch, null, 'latin1');
    }
  } finally {
    closeSync(fd);
  }
  return size;
}

/** Worker tasks (each run in a fresh process by runWorker). */
export const tasks = {
  // What `leakhunt analyze <log> --out <dir>` does, timed.
  async analyze({ log, out }) {
    const { analyzeToRunDir } = await import(dist('report/analyze.js'));
    const started = nowMs();
    const result = await analyzeToRunDir(log, out);
    return { wallMs: nowMs() - started, counts: result.analysis.counts, stacks: result.analysis.stackCount, verdict: result.analysis.report.verdict };
  },
  // The bare streamed line count: the file read as analyze reads it (the same stream, encoding
  // and chunk size), cut into lines by Node's line reader and counted, nothing else.
  async count({ log }) {
    const started = nowMs();
    let lines = 0;
    for await (const line of createInterface({ input: createReadStream(log, { encoding: 'latin1', highWaterMark: 1 << 20 }), crlfDelay: Infinity })) if (line !== undefined) lines++;
    return { wallMs: nowMs() - started, lines };
  },
  // A floor below any line reader: line breaks found in the stream's chunks, no line ever made.
  async scan({ log }) {
    const started = nowMs();
    let lines = 0;
    for await (const chunk of createReadStream(log, { encoding: 'latin1', highWaterMark: 1 << 20 })) {
      for (let at = chunk.indexOf('\n'); at >= 0; at = chunk.indexOf('\n', at + 1)) lines++;
    }
    return { wallMs: nowMs() - started, lines };
  },
};

/** Run the benchmark: one log, then `runs` alternating pairs of line count and analysis. */
export async function run({ runs }) {
  const gigabytes = Number(process.env.LEAKHUNT_BENCH_LOG_GB ?? 2);
  const bytes = Math.round(gigabytes * 2 ** 30);
  const dir = mkdtempSync(join(tmpdir(), 'leakhunt-bench-stream-'));
  try {
    const { bavail, bsize } = statfsSync(dir);
    if (bavail * bsize < bytes * 1.5) throw new Error(`needs ${Math.ceil((bytes * 1.5) / 2 ** 30)} GB free in ${tmpdir()} for the log and the run directory`);
    const log = join(dir, 'session.log');
    const size = await writeSessionLog(log, bytes);
    const analyzeMs = [];
    const countMs = [];
    const scanMs = [];
    const ratios = [];
    const scanRatios = [];
    const peakRss = [];
    let seen;
    for (let index = 0; index < runs; index++) {
      const count = await runWorker(import.meta.url, 'count', { log });
      const scan = await runWorker(import.meta.url, 'scan', { log });
      const analysis = await runWorker(import.meta.url, 'analyze', { log, out: join(dir, 'run') });
      rmSync(join(dir, 'run'), { recursive: true, force: true });
      countMs.push(count.wallMs);
      analyzeMs.push(analysis.wallMs);
      scanMs.push(scan.wallMs);
      ratios.push(analysis.wallMs / count.wallMs);
      scanRatios.push(analysis.wallMs / scan.wallMs);
      peakRss.push(analysis.peakRssMiB);
      seen = { lines: count.lines, counts: analysis.counts, stacks: analysis.stacks, verdict: analysis.verdict };
    }
    const label = `${(size / 2 ** 30).toFixed(1)} GB per-hit session log`;
    return [
      { id: 'stream.analyze.peakRss', name: `leakhunt analyze on a ${label}: peak RSS (whole process)`, unit: 'MB', readme: `Streaming analysis: \`leakhunt analyze\` of a ${label}, peak RSS`, ...summarize(peakRss), goal: { op: '<', value: 300 }, detail: { bytes: size, ...seen } },
      { id: 'stream.analyze.ratio', name: `leakhunt analyze on a ${label} ÷ a bare streamed line count of it (pairwise)`, unit: '×', readme: 'Streaming analysis: wall time ÷ a bare streamed line count of the same file', ...summarize(ratios), goal: { op: '<=', value: 8 } },
      { id: 'stream.analyze.ms', name: `leakhunt analyze on a ${label}`, unit: 'ms', ...summarize(analyzeMs) },
      { id: 'stream.analyze.scanRatio', name: `leakhunt analyze on a ${label} ÷ a newline scan of the same stream (no line strings made)`, unit: '×', ...summarize(scanRatios) },
      { id: 'stream.count.ms', name: 'streamed line count of the same log (readline)', unit: 'ms', ...summarize(countMs) },
      { id: 'stream.scan.ms', name: 'newline scan of the same stream', unit: 'ms', ...summarize(scanMs) },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Registry entry for bench/run.mjs. */
export default { id: 'stream', title: '3. Streaming analysis', run };
