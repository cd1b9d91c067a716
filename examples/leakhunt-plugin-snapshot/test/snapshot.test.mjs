// snapshot.poolused on simulated Windows versions, through the leakhunt command line a user
// runs: `npm run build && node --test` (leakhunt installed beside the plugin).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const plugin = fileURLToPath(new URL('..', import.meta.url));
const leakhuntPackage = fileURLToPath(import.meta.resolve('leakhunt/package.json'));
const cli = join(dirname(leakhuntPackage), JSON.parse(readFileSync(leakhuntPackage, 'utf8')).bin.leakhunt);

// Run a playbook of test/ on a simulator profile with this plugin; returns the exit code and the JSON events.
function hunt(playbook, profile) {
  const out = mkdtempSync(join(tmpdir(), 'snapshot-test-'));
  const run = spawnSync(process.execPath, [cli, 'run', join(plugin, 'test', playbook), '--target', `sim:${profile}`, '--plugins', plugin, '--out', out, '--json'], { encoding: 'utf8' });
  const events = run.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
  return { status: run.status, events, stderr: run.stderr, out };
}

for (const profile of ['winxp-sp3-x86', 'win7-sp1-x64', 'win11-24h2-x64']) {
  test(`snapshot.poolused lists the largest paged tags on ${profile}`, () => {
    const { status, events, stderr, out } = hunt('snapshot.yaml', profile);
    assert.equal(status, 0, stderr);
    const end = events.find((event) => event.event === 'stepEnd' && event.step === 'snapshot');
    assert.equal(end.status, 'ok');
    assert.equal(end.outputs.tags.length, 3);
    assert.ok(end.outputs.tags[0].bytes >= end.outputs.tags[2].bytes);
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'snapshot.json'), 'utf8')).tags, end.outputs.tags);
  });
}

test('on XP without tagging enabled the step fails with POOL_TAGS_UNAVAILABLE, saying tagging is off', () => {
  const { status, events } = hunt('untagged.yaml', 'winxp-sp3-x86');
  assert.equal(status, 1);
  const end = events.find((event) => event.event === 'stepEnd' && event.step === 'snapshot');
  assert.equal(end.error.code, 'POOL_TAGS_UNAVAILABLE');
  assert.match(end.error.hint, /pool tagging is off in this boot/);
});
