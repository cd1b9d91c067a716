/**
 * `npm run bench`: run leakhunt's benchmarks (issue 8), print a table, write bench/results.json
 * and the table section of docs/benchmarks.md. Figures only: a missed goal is reported, never
 * a failed build (exit code 0 unless a benchmark itself could not run).
 *
 *   node bench/run.mjs [--runs N] [--only id,id] [--no-docs]
 *
 * Ids: startup, stream, aggregate, scaling, sim, roundtrips, slowlink, hunt, tty. Every figure is the median
 * of at least 5 runs with its min and max.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import aggregate from './aggregate.mjs';
import hunt from './hunt.mjs';
import roundtrips from './round-trips.mjs';
import scaling from './scaling.mjs';
import sim from './simulator.mjs';
import slowlink from './slow-link.mjs';
import stream from './analyze-stream.mjs';
import startup from './startup.mjs';
import tty from './tty.mjs';
import { describeMachine, formatNumber, nowMs } from './lib/stats.mjs';

const resultsFile = fileURLToPath(new URL('./results.json', import.meta.url));
const docsFile = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
const MIN_RUNS = 5;

// Start-up first, while nothing of ours has warmed or loaded the machine; the hunt last.
const benchmarks = [startup, roundtrips, slowlink, stream, aggregate, scaling, sim, hunt, tty];

// --runs, --only, --no-docs.
function parseArgs(argv) {
  const options = { runs: MIN_RUNS, only: undefined, docs: true };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index];
    if ((arg === '--runs' || arg === '--only') && argv[index + 1] === undefined) throw new Error(`${arg} needs a value`);
    if (arg === '--runs') options.runs = Number(argv[++index]);
    else if (arg === '--only') options.only = argv[++index].split(',');
    else if (arg === '--no-docs') options.docs = false;
    else throw new Error(`unknown option ${arg} (use --runs N, --only id,id, --no-docs)`);
  }
  if (!Number.isInteger(options.runs) || options.runs < MIN_RUNS) throw new Error(`--runs must be an integer of at least ${MIN_RUNS}`);
  const known = benchmarks.map((b) => b.id);
  for (const id of options.only ?? []) if (!known.includes(id)) throw new Error(`unknown benchmark "${id}" (known: ${known.join(', ')})`);
  return options;
}

/** Whether a median meets its goal; null when the figure has none. */
export function goalMet(row) {
  if (!row.goal) return null;
  const { op, value } = row.goal;
  if (op === '<=') return row.median <= value;
  if (op === '<') return row.median < value;
  if (op === '>=') return row.median >= value;
  if (op === '>') return row.median > value;
  throw new Error(`unknown goal operator ${op}`);
}

// The goal as text: `≤ 1.25×`, `< 400 MB`.
function goalText(row) {
  if (!row.goal) return '';
  const op = { '<=': '≤', '<': '<', '>=': '≥', '>': '>' }[row.goal.op];
  const value = row.goal.value >= 1000 ? row.goal.value.toLocaleString('en-US') : String(row.goal.value);
  return `${op} ${value}${row.unit === '×' ? '×' : ` ${row.unit}`}`;
}

// A Markdown table of every figure (also printed, since it reads well in a terminal).
function table(results) {
  const lines = ['| benchmark | figure | median | min | max | goal | met |', '| --- | --- | ---: | ---: | ---: | --- | --- |'];
  for (const bench of results) {
    for (const row of bench.rows) {
      const unit = row.unit === '×' ? '×' : ` ${row.unit}`;
      const met = row.met === null ? '' : row.met ? 'yes' : '**no**';
      lines.push(`| ${bench.title} | ${row.name} | ${formatNumber(row.median)}${unit} | ${formatNumber(row.min)} | ${formatNumber(row.max)} | ${goalText(row)} | ${met} |`);
    }
    if (bench.error) lines.push(`| ${bench.title} | could not run: ${bench.error.split('\n')[0]} | | | | | **no** |`);
  }
  return lines.join('\n');
}

// The README's table: one line per figure with a goal, plus the hunt against the manual procedure.
function readmeTable(results) {
  const lines = ['| benchmark | result (median, min–max) | goal | met |', '| --- | --- | --- | --- |'];
  for (const bench of results) {
    for (const row of bench.rows.filter((r) => r.goal || r.readme)) {
      const unit = row.unit === '×' ? '×' : ` ${row.unit}`;
      const met = row.met === null ? '' : row.met ? 'yes' : '**no**';
      lines.push(`| ${row.readme ?? row.name} | ${formatNumber(row.median)}${unit} (${formatNumber(row.min)}–${formatNumber(row.max)}) | ${goalText(row)} | ${met} |`);
    }
  }
  return lines.join('\n');
}

// The machine line the README and docs show under the table.
function machineText(machine, runs, started) {
  return `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.platform}; load average ${machine.loadAverage.join(' / ')} at start. ${runs} runs per figure, ${started}.`;
}

// Replace one generated section of docs/benchmarks.md (between its markers).
function replaceSection(text, name, markdown) {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${docsFile} lacks the ${start} … ${end} markers`);
  return `${text.slice(0, from + start.length)}\n${markdown}\n${text.slice(to)}`;
}

let options;
try {
  options = parseArgs(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exit(2);
}
const machine = describeMachine();
const startedAt = new Date().toISOString();
const started = nowMs();
const results = [];
for (const bench of benchmarks.filter((b) => !options.only || options.only.includes(b.id))) {
  process.stderr.write(`${bench.title} …\n`);
  const benchStarted = nowMs();
  try {
    const rows = (await bench.run({ runs: options.runs })).map((row) => ({ ...row, met: goalMet(row) }));
    results.push({ id: bench.id, title: bench.title, at: startedAt, seconds: (nowMs() - benchStarted) / 1000, rows });
  } catch (error) {
    results.push({ id: bench.id, title: bench.title, seconds: (nowMs() - benchStarted) / 1000, rows: [], error: String(error?.stack ?? error) });
    process.stderr.write(`  failed: ${String(error?.message ?? error)}\n`);
  }
  process.stderr.write(`  ${((nowMs() - benchStarted) / 1000).toFixed(1)} s\n`);
}
// `--only` re-measures some benchmarks: the others keep their last figures in results.json.
const kept = options.only && existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')).benchmarks ?? []).filter((b) => !options.only.includes(b.id)) : [];
const merged = [...kept, ...results].sort((a, b) => benchmarks.findIndex((x) => x.id === a.id) - benchmarks.findIndex((x) => x.id === b.id));
const output = { startedAt, durationSeconds: (nowMs() - started) / 1000, runsPerFigure: options.runs, machine: { ...machine, loadAverageAtEnd: describeMachine().loadAverage }, benchmarks: merged };
writeFileSync(resultsFile, `${JSON.stringify(output, null, 2)}\n`);
const markdown = `${table(results)}\n\n${machineText(machine, options.runs, startedAt.slice(0, 10))}`;
process.stdout.write(`${markdown}\n\nwrote ${resultsFile}\n`);
if (options.docs && !options.only) {
  const machineLine = machineText(machine, options.runs, startedAt.slice(0, 10));
  let text = readFileSync(docsFile, 'utf8');
  text = replaceSection(text, 'readme', `${readmeTable(results)}\n\n${machineLine}`);
  text = replaceSection(text, 'results', markdown);
  writeFileSync(docsFile, text);
}
if (results.some((bench) => bench.error)) process.exitCode = 1;
