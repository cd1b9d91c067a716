/**
 * `npm run bench:lab`: a lab run of many simulated targets in one controller against the same
 * targets run one at a time. Prints (and writes to bench/lab-results.json):
 *   - the controller's own peak memory (VmHWM of the leakhunt process; the simulators are
 *     separate processes, as kd.exe would be), goal < 500 MB;
 *   - the CPU time of the controller itself (a --import hook reads it at exit) against that of the
 *     simulators it spawned (the rest of the process tree's);
 *   - the lab's wall time against the sum and the slowest of the single runs, and against what
 *     two cores allow: the CPU time all the hunts need (controller and simulators, user + system)
 *     divided by 2, the sum of single wall times divided by --parallel, or the slowest single
 *     run, whichever is longest (a hunt mostly waits on the target's own clock);
 *   - whether every target got the same verdict and culprit in the lab as alone (exit code 1 if
 *     not: that is a correctness failure, not a timing one; times never fail this script).
 *
 *   node bench/lab.mjs [--targets 32] [--parallel 8]              32 targets cycling the 13 profiles
 *   node bench/lab.mjs --inventory scenarios/lab-all-versions.yaml --parallel 4   the ready inventory
 *
 * One run of each (a lab of 32 hunts is minutes of machine time); needs a build.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');
const playbook = join(root, 'playbooks/find-pool-leak.yaml');
const profiles = ['win2000-sp4-x86', 'winxp-sp3-x86', 'win2003-sp2-x86', 'win2003-sp2-x64', 'vista-sp2-x86', 'win7-sp1-x86', 'win7-sp1-x64', 'win81-x64', 'win10-1607-x64', 'win10-1809-x64', 'win10-22h2-x64', 'win11-23h2-x64', 'win11-24h2-x64'];

function parseArgs(argv) {
  const options = { targets: 32, parallel: 8, inventory: undefined };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--targets') options.targets = Number(argv[++i]);
    else if (argv[i] === '--parallel') options.parallel = Number(argv[++i]);
    else if (argv[i] === '--inventory') options.inventory = argv[++i];
    else throw new Error(`unknown option ${argv[i]} (use --targets N, --parallel N, --inventory file)`);
  }
  return options;
}

const cpuHook = join(root, 'bench/lib/cpu-at-exit.mjs');
let measured = 0;

// Run `node <cli> args` under /usr/bin/time; poll the leakhunt process's peak RSS (VmHWM) while it
// runs; its own CPU time (not its children's) comes from the cpu-at-exit hook.
function measure(args) {
  const cpuFile = join(work, `cpu-${++measured}.json`);
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/time', ['-f', 'TIME %e %U %S', process.execPath, '--import', pathToFileURL(cpuHook).href, cli, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LEAKHUNT_BENCH_CPU_FILE: cpuFile } });
    let stderr = '';
    let hwmKb = 0;
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const poll = setInterval(() => {
      try {
        const node = execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).trim().split('\n')[0];
        const status = readFileSync(`/proc/${node}/status`, 'utf8');
        hwmKb = Math.max(hwmKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
      } catch {
        // between start and exit the process may not be there yet, or any more
      }
    }, 200);
    child.on('close', (code) => {
      clearInterval(poll);
      const [wall, user, sys] = (/TIME (\S+) (\S+) (\S+)/.exec(stderr)?.slice(1) ?? []).map(Number);
      const own = existsSync(cpuFile) ? JSON.parse(readFileSync(cpuFile, 'utf8')) : undefined;
      resolve({ code, wallS: wall, cpuS: user + sys, controllerCpuS: own ? own.userS + own.systemS : NaN, peakMb: hwmKb / 1024 });
    });
  });
}

// Verdict and culprit (function, without offset) of a run directory.
function outcome(dir) {
  const file = join(dir, 'report.json');
  if (!existsSync(file)) return { verdict: null, culprit: null };
  const report = JSON.parse(readFileSync(file, 'utf8'));
  return { verdict: report.verdict, culprit: report.culprit?.frame ?? null };
}

const options = parseArgs(process.argv.slice(2));
if (!existsSync(cli)) throw new Error('build first: npm run build');
const work = mkdtempSync(join(tmpdir(), 'leakhunt-bench-lab-'));
const netx = join(root, 'scenarios/lab/netx.yaml');
let inventory = options.inventory ? join(root, options.inventory) : join(work, 'lab.yaml');
if (!options.inventory) {
  const lines = Array.from({ length: options.targets }, (_, i) => `  - { name: t${String(i + 1).padStart(2, '0')}-${profiles[i % profiles.length]}, target: "sim:${netx}@${profiles[i % profiles.length]}" }`);
  writeFileSync(inventory, `targets:\n${lines.join('\n')}\n`);
}
const { loadInventory } = await import(join(root, 'dist/src/lab/inventory.js'));
const targets = loadInventory(inventory).inventory.targets;

process.stdout.write(`lab: ${targets.length} targets at --parallel ${options.parallel} in one controller…\n`);
const labDir = join(work, 'lab');
const lab = await measure(['run', playbook, '--inventory', inventory, '--parallel', String(options.parallel), '--out', labDir]);
process.stdout.write(`  wall ${lab.wallS.toFixed(1)} s, CPU ${lab.cpuS.toFixed(1)} s (controller ${lab.controllerCpuS.toFixed(1)} s), controller peak ${lab.peakMb.toFixed(0)} MB (exit ${lab.code})\n`);

process.stdout.write(`single runs: the same ${targets.length} targets one at a time…\n`);
const singles = [];
for (const target of targets) {
  const out = join(work, 'alone', target.name);
  const run = await measure(['run', playbook, '--target', target.spec, '--out', out]);
  singles.push({ name: target.name, ...run, ...outcome(out) });
}
const sumWall = singles.reduce((sum, run) => sum + run.wallS, 0);
const slowest = Math.max(...singles.map((run) => run.wallS));
const sumCpu = singles.reduce((sum, run) => sum + run.cpuS, 0);
const sumControllerCpu = singles.reduce((sum, run) => sum + run.controllerCpuS, 0);
// No lab can beat its slowest target, N runs P at a time (sum / P), or, on two cores, the CPU time all hunts need halved.
const twoCores = Math.max(slowest, sumWall / options.parallel, sumCpu / 2);
const mismatches = targets
  .map((target, i) => ({ name: target.name, lab: outcome(join(labDir, 'targets', target.name)), alone: singles[i] }))
  .filter(({ lab: inLab, alone }) => inLab.verdict !== alone.verdict || inLab.culprit !== alone.culprit);

const results = {
  machine: `${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores`,
  targets: targets.length,
  parallel: options.parallel,
  lab: { wallS: lab.wallS, cpuS: lab.cpuS, controllerCpuS: lab.controllerCpuS, simulatorsCpuS: lab.cpuS - lab.controllerCpuS, controllerPeakMb: Math.round(lab.peakMb), exitCode: lab.code },
  singles: { sumWallS: sumWall, slowestWallS: slowest, sumCpuS: sumCpu, sumControllerCpuS: sumControllerCpu, controllerPeakMb: Math.round(Math.max(...singles.map((run) => run.peakMb))) },
  twoCoreBoundS: twoCores,
  goals: { controllerUnder500Mb: lab.peakMb < 500, wallWithinTwoCoreBound: lab.wallS <= twoCores * 1.25 },
  sameVerdictAndCulprit: mismatches.length === 0,
  mismatches: mismatches.map(({ name, lab: inLab, alone }) => ({ name, lab: inLab, alone: { verdict: alone.verdict, culprit: alone.culprit } })),
};
process.stdout.write(`
| figure | value |
| --- | --- |
| targets, parallel | ${targets.length}, ${options.parallel} |
| lab wall time | ${lab.wallS.toFixed(1)} s |
| single runs: sum of wall times | ${sumWall.toFixed(1)} s |
| single runs: slowest | ${slowest.toFixed(1)} s |
| CPU all hunts need (single runs, user+sys) | ${sumCpu.toFixed(1)} s |
| bound: max(slowest, sum / parallel, CPU / 2) | ${twoCores.toFixed(1)} s |
| lab CPU (controller + simulators) | ${lab.cpuS.toFixed(1)} s (controller ${lab.controllerCpuS.toFixed(1)} s, simulators ${(lab.cpuS - lab.controllerCpuS).toFixed(1)} s) |
| single runs' controllers' CPU, summed | ${sumControllerCpu.toFixed(1)} s |
| controller peak memory (lab) | ${lab.peakMb.toFixed(0)} MB (goal < 500 MB: ${results.goals.controllerUnder500Mb ? 'met' : 'missed'}) |
| controller peak memory (one single run) | ${results.singles.controllerPeakMb} MB |
| same verdict and culprit in the lab as alone | ${mismatches.length === 0 ? `yes, all ${targets.length}` : `NO: ${mismatches.map((m) => m.name).join(', ')}`} |
`);
writeFileSync(join(root, 'bench', options.inventory ? 'lab-determinism.json' : 'lab-results.json'), `${JSON.stringify(results, null, 2)}\n`);
process.exitCode = mismatches.length === 0 ? 0 : 1;
