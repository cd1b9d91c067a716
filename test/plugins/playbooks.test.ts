// The ready playbooks load with the package's plugins, and the plan picks version-specific providers.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { loadPlaybook } from '../../src/core/load.js';
import { planPlaybook } from '../../src/core/plan.js';
import { loadRegistry } from '../../src/core/registry.js';
import { factsForOs } from '../../src/core/versions.js';
import { findProfile } from '../../src/sim/profiles.js';

const playbooksDir = fileURLToPath(new URL('../../playbooks/', import.meta.url));
const registry = loadRegistry();

// The provider chosen per step id, as `plugin/provider`.
async function providersFor(file: string, os: string, arch?: 'x86' | 'x64' | 'arm64'): Promise<Record<string, string>> {
  const loaded = loadPlaybook(`${playbooksDir}${file}`, { registry: await registry });
  expect(loaded.errors.map((e) => e.message)).toEqual([]);
  const planned = planPlaybook(loaded.playbook!, factsForOs(os, arch, findProfile(os)), await registry);
  expect(planned.errors.map((e) => e.message)).toEqual([]);
  return Object.fromEntries([...planned.plan!.steps, ...planned.plan!.always].map((p) => [p.step.id, `${p.plugin}/${p.provider.id}`]));
}

describe('ready playbooks', () => {
  const files = readdirSync(playbooksDir).filter((f) => f.endsWith('.yaml'));

  test('all four ship', () => {
    expect(files.sort()).toEqual(['collect-stacks.yaml', 'enable-tagging.yaml', 'find-pool-leak.yaml', 'rank-only.yaml']);
  });

  test.each(files)('%s starts with the $schema line and loads without problems', async (file) => {
    expect(readFileSync(`${playbooksDir}${file}`, 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../schemas/playbook.schema.json');
    const loaded = loadPlaybook(`${playbooksDir}${file}`, { registry: await registry });
    expect(loaded.errors.map((e) => `${e.code} ${e.message}`)).toEqual([]);
  });

  test('find-pool-leak plans different providers on xp and win11', async () => {
    const xp = await providersFor('find-pool-leak.yaml', 'xp');
    const win11 = await providersFor('find-pool-leak.yaml', 'win11');
    expect(xp).toMatchObject({
      tagging: 'pool-tagging/gflags-registry',
      collect: 'pool/classic',
      retag: 'pool/immediate-x86',
      verdict: 'report/hunt',
      'clear-hit-tag': 'pool/poolhittag',
      restore: 'memory/undo-log',
    });
    expect(win11).toMatchObject({
      tagging: 'pool-tagging/always-on',
      collect: 'pool/segment-heap',
      retag: 'pool/immediate-x64',
    });
  });

  test.each([
    ['win2000-sp4-x86', 'pool/classic', 'pool-tagging/gflags-registry'],
    ['win2003-sp2-x64', 'pool/classic', 'pool-tagging/always-on'],
    ['win7-sp1-x86', 'pool/classic', 'pool-tagging/always-on'],
    ['win10-1809-x64', 'pool/classic', 'pool-tagging/always-on'],
    ['win10-22h2-x64', 'pool/segment-heap', 'pool-tagging/always-on'],
  ])('on %s collect-stacks uses %s and tagging %s', async (profile, collect, tagging) => {
    const plan = await providersFor('find-pool-leak.yaml', profile);
    expect(plan.collect).toBe(collect);
    expect(plan.tagging).toBe(tagging);
  });

  test('rank-only enables tagging (and reboots) where the version needs it, as find-pool-leak does', async () => {
    expect(await providersFor('rank-only.yaml', 'xp')).toMatchObject({ tagging: 'pool-tagging/gflags-registry', reboot: 'target/dot-reboot', rank: 'pool/poolused' });
    expect(await providersFor('rank-only.yaml', 'win11')).toMatchObject({ tagging: 'pool-tagging/always-on' });
  });

  test('ARM64 gets a retag provider that explains why it cannot patch', async () => {
    const plan = await providersFor('find-pool-leak.yaml', 'win11', 'arm64');
    expect(plan.retag).toBe('pool/arm64-unsupported');
  });
});
