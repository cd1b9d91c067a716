#!/usr/bin/env node
/**
 * Install leakhunt as a user does and use it as a team would: `npm pack` this package, install
 * the tarball into a new project, build and pack the two examples (a third-party plugin, a team
 * recipe package) and install them too, name them in leakhunt.config.yaml, then list plugins,
 * validate, plan, run a hunt on the simulator, and check that a deep import is refused and what
 * a TypeScript plugin does on this Node. `npm run test:pack`; CI runs it (.ci/run), and
 * scripts/lts-smoke.mjs runs it again under the current LTS Node.
 *
 *   node scripts/pack-smoke.mjs [--node <node binary>] [--keep]
 *
 * Needs `npm run build` first (the tarball ships dist/). Installs are offline from npm's cache
 * when they can be, and fall back to the registry for what the cache lacks.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const node = args.includes('--node') ? args[args.indexOf('--node') + 1] : process.execPath;
const keep = args.includes('--keep');
const nodeVersion = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
const started = Date.now();

// One check: print it, and stop with the evidence when it fails.
function check(what, ok, evidence = '') {
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${what}\n`);
  if (!ok) {
    process.stdout.write(`${evidence}\n`);
    process.stdout.write(`work folder kept: ${work}\n`);
    process.exit(1);
  }
}

// Run a command; returns status and output, never throws.
function run(command, commandArgs, cwd, env = {}) {
  const result = spawnSync(command, commandArgs, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? '', text: `$ ${command} ${commandArgs.join(' ')}\n${result.stdout}${result.stderr}` };
}

// npm install, offline from the cache first, then letting npm fetch what the cache lacks.
function npmInstall(cwd, specs) {
  const common = ['install', '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts', ...specs];
  const offline = run('npm', [...common, '--offline'], cwd);
  if (offline.status === 0) return { ...offline, mode: 'offline' };
  const online = run('npm', [...common, '--prefer-offline'], cwd);
  return { ...online, mode: 'prefer-offline', text: `${offline.text}\n${online.text}` };
}

// npm pack a folder into `into`; returns the tarball's path.
function npmPack(folder, into) {
  const result = run('npm', ['pack', '--ignore-scripts', '--pack-destination', into, '--json'], folder);
  check(`npm pack ${folder === root ? 'leakhunt' : folder.split(/[\\/]/).pop()}`, result.status === 0, result.text);
  return join(into, JSON.parse(result.stdout)[0].filename);
}

const work = mkdtempSync(join(tmpdir(), 'leakhunt-pack-'));
const tarballs = join(work, 'tarballs');
const project = join(work, 'project');
mkdirSync(tarballs);
mkdirSync(project);
process.stdout.write(`pack smoke on Node ${nodeVersion} in ${work}\n`);

check('dist/ is built (npm run build)', existsSync(join(root, 'dist', 'src', 'api', 'plugin.d.ts')));
const leakhunt = npmPack(root, tarballs);
writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'team-project', private: true, type: 'module' }, null, 2)}\n`);
let installed = npmInstall(project, [leakhunt]);
check(`npm install leakhunt (${installed.mode})`, installed.status === 0, installed.text);

// The plugin example is TypeScript: compiled against the installed leakhunt's types, as its author would.
const packages = join(project, 'packages');
cpSync(join(root, 'examples'), packages, { recursive: true, filter: (path) => !/[\\/](node_modules|dist)$/.test(path) });
const compiled = run(node, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(packages, 'leakhunt-plugin-snapshot', 'tsconfig.json')], project);
check('the plugin example compiles against leakhunt/plugin and leakhunt/kd types', compiled.status === 0, compiled.text);
const snapshotSource = readFileSync(join(packages, 'leakhunt-plugin-snapshot', 'src', 'index.ts'), 'utf8');
const imported = [...snapshotSource.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
check('the plugin example imports only leakhunt/plugin and leakhunt/kd', imported.every((spec) => spec === 'leakhunt/plugin' || spec === 'leakhunt/kd'), imported.join(', '));
const examples = ['leakhunt-plugin-snapshot', 'team-leak-recipes'].map((name) => npmPack(join(packages, name), tarballs));
installed = npmInstall(project, [leakhunt, ...examples]);
check(`npm install the examples (${installed.mode})`, installed.status === 0, installed.text);
// The plugin's own tests, as its author runs them: on simulator profiles, through the installed leakhunt.
const pluginTests = run(node, ['--test', join('test', 'snapshot.test.mjs')], join(packages, 'leakhunt-plugin-snapshot'));
check('the plugin example\'s tests pass on simulator profiles (node --test)', pluginTests.status === 0, pluginTests.text.slice(-4000));
rmSync(packages, { recursive: true });

writeFileSync(join(project, 'leakhunt.config.yaml'), 'plugins: [leakhunt-plugin-snapshot]\nplaybooks: ["@example-team/leak-recipes"]\n');
const cli = join(project, 'node_modules', 'leakhunt', 'dist', 'src', 'cli', 'main.js');
const leakhuntCli = (...cliArgs) => run(node, [cli, ...cliArgs], project);

const plugins = leakhuntCli('plugins', '--errors');
check('leakhunt plugins --errors lists the installed plugin\'s codes', plugins.status === 0 && plugins.stdout.includes('snapshot/TAG_NOT_FOUND') && plugins.stdout.includes('pool/NO_FREE_TAGS'), plugins.text);
const validated = leakhuntCli('validate');
check('leakhunt validate checks the recipe package\'s playbooks', validated.status === 0 && /ok {2}.*nonpaged-driver\.yaml: \d+ steps/.test(validated.stdout), validated.text);
const planned = leakhuntCli('plan', 'nonpaged-driver', '--os', 'xp');
check('leakhunt plan nonpaged-driver --os xp picks the plugin\'s provider', planned.status === 0 && /snapshot\s+snapshot\.poolused\s+→ snapshot\/poolused/.test(planned.stdout) && /hunt\.rank/.test(planned.stdout), planned.text);
// The recipe hunts nonpaged pool: rehearsed on the scenario with a nonpaged leak that ships with leakhunt.
const hunted = leakhuntCli('run', 'nonpaged-driver', '--target', 'sim:node_modules/leakhunt/scenarios/nonpaged-leak.yaml', '--out', 'runs/hunt', '--json');
const runDir = join(project, 'runs', 'hunt');
const report = existsSync(join(runDir, 'report.json')) ? JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8')) : undefined;
check('leakhunt run nonpaged-driver hunts on the simulator and succeeds', hunted.status === 0 && report !== undefined, hunted.text.slice(-4000));
check('the verdict names the scenario\'s leaking call site', report.verdict === 'leak' && /stormini!StorAllocateSrbExtension/.test(JSON.stringify(report.culprit)), JSON.stringify({ verdict: report.verdict, culprit: report.culprit, reason: report.reason }).slice(0, 2000));
const snapshot = existsSync(join(runDir, 'snapshot.json')) ? JSON.parse(readFileSync(join(runDir, 'snapshot.json'), 'utf8')) : undefined;
check('the plugin\'s step ran: snapshot.json holds the nonpaged tags in use, largest (the leaking "Stor") first', snapshot?.pool === 'nonpaged' && snapshot.tags[0]?.tag === 'Stor' && snapshot.tags.some((t) => t.tag === 'Irp ') && snapshot.tags.every((t, i, all) => t.bytes > 0 && (i === 0 || all[i - 1].bytes >= t.bytes)), JSON.stringify(snapshot));

const deep = run(node, ['--input-type=module', '-e', "import('leakhunt/dist/src/core/run.js').then(() => console.log('loaded'), (e) => console.log(e.code))"], project);
check('a module outside leakhunt\'s exports is refused', deep.stdout.trim() === 'ERR_PACKAGE_PATH_NOT_EXPORTED', deep.text);

// A TypeScript plugin in the project (not in node_modules, where Node never strips types).
mkdirSync(join(project, 'ts-plugin'));
writeFileSync(join(project, 'ts-plugin', 'index.ts'), `import { definePlugin, defineProvider } from 'leakhunt/plugin';
import type { StepContext } from 'leakhunt/plugin';

const hello = defineProvider<{ who?: string }>({
  uses: 'typed.hello', id: 'hello', description: 'says hello',
  with: { type: 'object', additionalProperties: false, properties: { who: { type: 'string' } } },
  outputs: { greeting: { description: 'the greeting', type: 'string' } },
  async run(params: { who?: string }, _ctx: StepContext) { return { status: 'ok', outputs: { greeting: \`hello \${params.who ?? 'world'}\` } }; },
});

export default definePlugin({ name: 'typed', steps: [hello] });
`);
const strips = run(node, ['-p', 'Boolean(process.features.typescript)'], project).stdout.trim() === 'true';
const typed = leakhuntCli('plugins', '--plugins', './ts-plugin');
if (strips) check(`a .ts plugin loads on Node ${nodeVersion} (type stripping)`, typed.status === 0 && typed.stdout.includes('typed.hello'), typed.text);
else check(`a .ts plugin on Node ${nodeVersion} (no type stripping) says to compile it or use a newer Node`, typed.status === 2 && /compile it to JavaScript \(tsc\).*Node 22\.18\+/.test(typed.stderr), typed.text);

process.stdout.write(`pack smoke passed on Node ${nodeVersion} in ${Math.round((Date.now() - started) / 1000)} s\n`);
if (!keep) rmSync(work, { recursive: true, force: true });
