/**
 * The accuracy bench: does the hunt name the right culprit, or say it does not know?
 *
 * Runs `playbooks/find-pool-leak.yaml` on every scenario of a folder (default
 * `scenarios/accuracy/`) with several seeds, compares each verdict with the folder's truth file
 * (`expected.yaml`: per scenario file the verdict `leak` or `no-leak`, the tag, the culprit
 * `module!function` and optional acceptable alternatives) and prints a table: right /
 * inconclusive / wrong per scenario, and the target time each hunt needed to reach its verdict.
 * Writes the figures to `bench/accuracy.json`. Never fails on numbers: it measures.
 *
 *   npm run bench:accuracy                        # every scenario, seeds 1..3
 *   node bench/accuracy.mjs --seeds 5 --only cache --concurrency 2 --out /some/file.json
 *   node bench/accuracy.mjs --input samples=5      # pass playbook inputs through
 *
 * A run is `right` when a leak scenario ends `leak` naming the culprit (or an accepted
 * alternative) as its site or as the site's leaking path (`culprit.path`, the caller inside the
 * site's module whose evidence explains the leak: `mdkfs!MdkCreateFcb → mdkfs!MdkAllocatePool`
 * is right when the truth is either), and a no-leak scenario ends `no-leak`; `inconclusive` when the hunt says so (or
 * did not finish) and also for `no-leak` on a leak scenario (a missed leak, counted apart as
 * `missed`), as the truth file's README scores them; `wrong` when a `leak` verdict names another
 * site or comes on a no-leak scenario.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { runProcess } from './lib/child.mjs';
import { cli, root, tempDir } from './lib/run-dir.mjs';

// argv → options.
function options(argv) {
  const o = { dir: join(root, 'scenarios', 'accuracy'), seeds: 3, firstSeed: 1, concurrency: 2, out: join(root, 'bench', 'accuracy.json'), only: undefined, inputs: [], keep: false, playbook: join(root, 'playbooks', 'find-pool-leak.yaml') };
  for (let i = 0; i < argv.length; i++) {
    const next = () => argv[++i];
    switch (argv[i]) {
      case '--dir': o.dir = resolve(next()); break;
      case '--seeds': o.seeds = Number(next()); break;
      case '--first-seed': o.firstSeed = Number(next()); break;
      case '--concurrency': o.concurrency = Math.max(1, Number(next())); break;
      case '--out': o.out = resolve(next()); break;
      case '--only': o.only = next(); break;
      case '--input': o.inputs.push(next()); break;
      case '--playbook': o.playbook = resolve(next()); break;
      case '--keep': o.keep = true; break;
      case '--help':
        console.log('usage: node bench/accuracy.mjs [--dir scenarios/accuracy] [--seeds 3] [--first-seed 1] [--concurrency 2] [--only <substring>[,<substring>…]] [--input key=value]… [--out bench/accuracy.json] [--keep]');
        process.exit(0);
        break;
      default: throw new Error(`unknown option ${argv[i]} (try --help)`);
    }
  }
  return o;
}

/** The truth file: `{ file: { verdict, tag?, culprit?, also?[] } }` (scenarios/accuracy/README.md), under a `scenarios:` key or at the top. */
export function readTruth(dir) {
  const file = ['expected.yaml', 'expected.yml'].map((f) => join(dir, f)).find((f) => existsSync(f));
  const truth = new Map();
  if (!file) return truth;
  const doc = parse(readFileSync(file, 'utf8')) ?? {};
  const entries = doc.scenarios && typeof doc.scenarios === 'object' ? doc.scenarios : doc;
  const list = Array.isArray(entries) ? entries.map((e) => [e.file ?? e.scenario, e]) : Object.entries(entries);
  for (const [name, entry] of list) {
    if (!name || !entry || typeof entry !== 'object') continue;
    const accept = [entry.culprit, ...asList(entry.also ?? entry.accept ?? entry.alternatives ?? entry.acceptable)].filter(Boolean).map(normalFrame);
    truth.set(basename(name), { verdict: entry.verdict, tag: entry.tag, culprit: entry.culprit, accept });
  }
  return truth;
}

// A value or a list of values as a list.
function asList(value) {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

// `Mod!Func+0x12` → `mod!func` (kd module names are case-insensitive; offsets are not part of a culprit).
function normalFrame(frame) {
  return String(frame).replace(/\+0x[0-9a-f]+$/i, '').toLowerCase();
}

/** right | inconclusive | wrong (and why) of one report against its truth. */
export function judge(report, truth) {
  if (!report) return { outcome: 'inconclusive', why: 'no report.json' };
  const named = report.culprit ? normalFrame(`${report.culprit.module}!${report.culprit.function ?? ''}`) : undefined;
  // The leaking path inside the culprit's module (`path → frame`), when the verdict named one.
  const path = report.culprit?.path ? normalFrame(report.culprit.path) : undefined;
  if (truth.verdict === 'no-leak') {
    if (report.verdict === 'no-leak') return { outcome: 'right' };
    if (report.verdict === 'leak') return { outcome: 'wrong', why: `leak named on a no-leak scenario (${named ?? 'no culprit'})` };
    return { outcome: 'inconclusive' };
  }
  if (report.verdict === 'leak') {
    const tagOk = !truth.tag || !report.culprit || String(report.culprit.tag).padEnd(4) === String(truth.tag).padEnd(4);
    if (tagOk && ((named && truth.accept.includes(named)) || (path && truth.accept.includes(path)))) return { outcome: 'right' };
    return { outcome: 'wrong', why: `named ${path ? `${path} → ` : ''}${named ?? 'no culprit'}, the driver to blame is ${truth.culprit}` };
  }
  if (report.verdict === 'no-leak') return { outcome: 'inconclusive', missed: true, why: 'no-leak on a leak scenario (a missed leak)' };
  return { outcome: 'inconclusive' };
}

// Target time the hunt used: report.json says it; older reports did not, so fall back to the
// simulator's final clock minus the scenario's preload (only when the target did not reboot).
function targetTimeOf(report, state, scenario) {
  const said = report?.evidence?.targetTimeMs ?? report?.targetTimeMs;
  if (typeof said === 'number') return said;
  if (!state || typeof state.timeMs !== 'number' || state.bootCount !== 0) return undefined;
  return state.timeMs - durationMs(scenario.preload ?? 0);
}

// `20m`, `1h`, `500ms`, a number of ms.
function durationMs(value) {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(String(value));
  if (!m) return 0;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'];
}

// One hunt on one scenario and seed.
async function hunt(o, work, file, seed) {
  const scenario = parse(readFileSync(join(o.dir, file), 'utf8'));
  const copy = join(work, `${basename(file, '.yaml')}-seed${seed}.yaml`);
  writeFileSync(copy, stringify({ ...scenario, seed }));
  const out = join(work, `${basename(file, '.yaml')}-seed${seed}`);
  const args = [cli, 'run', o.playbook, '--out', out, '--target', `sim:${copy}`];
  for (const input of o.inputs) args.push('--input', input);
  const result = await runProcess(process.execPath, args, { cwd: root, timeoutMs: 600_000 });
  const read = (name) => (existsSync(join(out, name)) ? JSON.parse(readFileSync(join(out, name), 'utf8')) : undefined);
  const report = read('report.json');
  const state = read('sim-state.json');
  return { report, state, wallMs: result.wallMs, exit: result.code, targetTimeMs: targetTimeOf(report, state, scenario), out };
}

// Run `jobs` with at most `limit` at once, in order of start.
async function pool(jobs, limit) {
  const results = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await jobs[index]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

// The median of numbers (undefined for none).
function median(values) {
  const v = values.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// `1h 02m`, `4m 10s`, `35s`.
function formatTarget(ms) {
  if (ms === undefined) return '—';
  const s = Math.round(ms / 1000);
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** The Markdown table of a result (README shows it). */
export function table(result) {
  const lines = ['| scenario | truth | right | inconclusive | wrong | median target time to verdict |', '| --- | --- | --- | --- | --- | --- |'];
  for (const s of result.scenarios) {
    const truth = s.truth.verdict === 'leak' ? `leak: ${s.truth.culprit}` : s.truth.verdict;
    lines.push(`| ${s.file} | ${truth} | ${s.right} | ${s.inconclusive}${s.missed ? ` (${s.missed} missed)` : ''} | ${s.wrong} | ${formatTarget(s.medianTargetTimeMs)} |`);
  }
  const t = result.totals;
  lines.push(`| **all (${t.runs} runs)** | | **${t.right}** (${Math.round((100 * t.right) / Math.max(1, t.runs))}%) | **${t.inconclusive}** (${t.missed} missed) | **${t.wrong}** (${t.wrongCulprits} wrong culprits, ${t.leakOnNoLeak} leak on no-leak) | **${formatTarget(t.medianTargetTimeMs)}** |`);
  return lines.join('\n');
}

async function main() {
  const o = options(process.argv.slice(2));
  if (!existsSync(cli)) throw new Error('build first: npm run build');
  const truth = readTruth(o.dir);
  const files = readdirSync(o.dir)
    .filter((f) => /\.ya?ml$/.test(f) && !/^expected\.ya?ml$/.test(f))
    .filter((f) => !o.only || o.only.split(',').some((part) => f.includes(part)))
    .sort();
  const missing = files.filter((f) => !truth.has(f));
  if (missing.length > 0) console.error(`no truth for ${missing.join(', ')} in ${o.dir}/expected.yaml: skipped`);
  const work = tempDir('leakhunt-accuracy-');
  const seeds = Array.from({ length: o.seeds }, (_, i) => o.firstSeed + i);
  const jobs = [];
  for (const file of files.filter((f) => truth.has(f))) {
    for (const seed of seeds) {
      jobs.push(async () => {
        const run = await hunt(o, work, file, seed);
        const verdict = judge(run.report, truth.get(file));
        const line = { file, seed, verdict: run.report?.verdict ?? `exit ${run.exit}`, culprit: run.report?.culprit?.frame ?? null, ...verdict, targetTimeMs: run.targetTimeMs, ...(run.report?.evidence?.targetTime && { targetTime: run.report.evidence.targetTime }), wallMs: run.wallMs, reason: run.report?.reason };
        console.error(`${file} seed ${seed}: ${line.outcome}${line.why ? ` (${line.why})` : ''} — ${line.verdict}${line.culprit ? ` ${line.culprit}` : ''}, ${formatTarget(line.targetTimeMs)} target, ${(line.wallMs / 1000).toFixed(1)} s wall`);
        if (!o.keep) rmSync(run.out, { recursive: true, force: true });
        return line;
      });
    }
  }
  let runs;
  try {
    runs = await pool(jobs, o.concurrency);
  } finally {
    if (!o.keep) rmSync(work, { recursive: true, force: true });
    else console.error(`run directories kept in ${work}`);
  }
  const scenarios = files
    .filter((f) => truth.has(f))
    .map((file) => {
      const mine = runs.filter((r) => r.file === file);
      const count = (outcome) => mine.filter((r) => r.outcome === outcome).length;
      return {
        file,
        truth: truth.get(file),
        right: count('right'),
        inconclusive: count('inconclusive'),
        wrong: count('wrong'),
        missed: mine.filter((r) => r.missed).length,
        medianTargetTimeMs: median(mine.map((r) => r.targetTimeMs)),
        runs: mine,
      };
    });
  const totals = {
    runs: runs.length,
    right: runs.filter((r) => r.outcome === 'right').length,
    inconclusive: runs.filter((r) => r.outcome === 'inconclusive').length,
    wrong: runs.filter((r) => r.outcome === 'wrong').length,
    wrongCulprits: runs.filter((r) => r.outcome === 'wrong' && r.verdict === 'leak' && truth.get(r.file).verdict === 'leak').length,
    leakOnNoLeak: runs.filter((r) => r.verdict === 'leak' && truth.get(r.file).verdict === 'no-leak').length,
    missed: runs.filter((r) => r.missed).length,
    medianTargetTimeMs: median(runs.map((r) => r.targetTimeMs)),
  };
  const result = { playbook: basename(o.playbook), dir: basename(o.dir), seeds, inputs: o.inputs, at: new Date().toISOString(), totals, scenarios };
  mkdirSync(resolve(o.out, '..'), { recursive: true });
  writeFileSync(o.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(table(result));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  });
}
