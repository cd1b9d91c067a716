/**
 * Benchmark: how the cost of reading grows with the size of what is read. Ten times the input
 * should cost about ten times the time (linear); a hundred times would be quadratic, and a
 * backtracking regular expression can be worse. These used to be assertions in the test suite;
 * a time measured on a shared machine is not a test result, so they are figures here, and the
 * tests only check that the same large and hostile inputs are read whole.
 *
 * - every kd parser in the registry: 1 MB ÷ 100 KB of the real fixtures, as many lines and
 *   as one long line (the worst of the two and of all parsers is the figure with a goal);
 * - the playbook loader: 6,000 steps ÷ 300 steps (20× the input, so linear is about 20×).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nowMs, summarize } from './lib/stats.mjs';

const dist = new URL('../dist/src/', import.meta.url);
const fixtureDir = fileURLToPath(new URL('../test/fixtures/kd/', import.meta.url));

// A fixture's transcript after its `# ---` source header.
function body(name) {
  const text = readFileSync(join(fixtureDir, name), 'utf8');
  const start = text.indexOf('\n# ---\n');
  return start < 0 ? text : text.slice(start + 7);
}

function grow(text, size) {
  return text.repeat(Math.ceil(size / Math.max(text.length, 1))).slice(0, size);
}

// The fastest of `runs` timings of work(), in ms; a refused input was still read.
function fastest(runs, work) {
  let best = Infinity;
  for (let run = 0; run < runs; run++) {
    const started = nowMs();
    try {
      work();
    } catch (error) {
      if (error?.name !== 'KdParseError') throw error;
    }
    best = Math.min(best, nowMs() - started);
  }
  return best;
}

// The ratio large ÷ small for one input unit, measured in turns so both see the same load.
function ratio(parse, unit, small, large) {
  const a = grow(unit, small);
  const b = grow(unit, large);
  let smallMs = Infinity;
  let largeMs = Infinity;
  for (let turn = 0; turn < 3; turn++) {
    smallMs = Math.min(smallMs, fastest(2, () => parse(a)));
    largeMs = Math.min(largeMs, fastest(1, () => parse(b)));
  }
  return largeMs / Math.max(smallMs, 0.05);
}

function manySteps(count) {
  let text = 'name: many\nsteps:\n';
  for (let i = 0; i < count; i++) text += `  - id: s${i}\n    uses: pool.hit-tag\n    with:\n      action: verify\n      tag: T${i % 1000}\n`;
  return text;
}

export async function run({ runs }) {
  const { KD_PARSERS } = await import(new URL('kd/index.js', dist));
  const { loadPlaybook } = await import(new URL('core/load.js', dist));
  const { loadRegistry } = await import(new URL('core/registry.js', dist));
  // Every real transcript, one after another: each parser reads the kd output it knows and
  // passes over the rest, as it does in a saved session.
  const text = readdirSync(fixtureDir).filter((name) => name.endsWith('.txt')).sort().map(body).join('\n');
  const longest = text.split('\n').reduce((a, b) => (b.length > a.length ? b : a), '');

  const parserRatios = [];
  const worst = { ratio: 0, what: '' };
  for (let sample = 0; sample < runs; sample++) {
    let round = 0;
    for (const info of KD_PARSERS) {
      for (const [shape, unit] of [['lines', `${text}\n`], ['one line', longest.trim() || text]]) {
        const value = ratio((input) => info.parse(input), unit, 100_000, 1_000_000);
        if (value > round) round = value;
        if (value > worst.ratio) Object.assign(worst, { ratio: value, what: `${info.kind} (${shape})` });
      }
    }
    parserRatios.push(round);
  }

  const registry = await loadRegistry();
  const scratch = mkdtempSync(join(tmpdir(), 'leakhunt-scaling-'));
  const loaderRatios = [];
  try {
    const load = (count) => {
      const file = join(scratch, `many-${count}.yaml`);
      writeFileSync(file, manySteps(count));
      return () => loadPlaybook(file, { registry });
    };
    const small = load(300);
    const large = load(6_000);
    small();
    for (let sample = 0; sample < runs; sample++) loaderRatios.push(fastest(2, large) / Math.max(fastest(2, small), 0.05));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return [
    { id: 'scaling.parsers', name: `kd parsers: 1 MB ÷ 100 KB, worst parser and shape (worst seen: ${worst.what})`, unit: '×', readme: 'kd parsers, 1 MB ÷ 100 KB (linear ≈ 10×)', ...summarize(parserRatios), goal: { op: '<=', value: 30 } },
    { id: 'scaling.loader', name: 'playbook load: 6,000 steps ÷ 300 steps', unit: '×', readme: 'Playbook load, 6,000 ÷ 300 steps (linear ≈ 20×)', ...summarize(loaderRatios), goal: { op: '<=', value: 60 } },
  ];
}

/** Registry entry for bench/run.mjs. */
export default { id: 'scaling', title: 'Scaling with input size', run };
