// Version aliases, alias ranges, facts for plan --os, and provider selection across every
// named Windows version and architecture.
import { describe, expect, test } from 'vitest';
import { aliasForVersion, expandOsRange, factsForOs, versionMatches } from '../../src/core/versions.js';
import { selectProvider } from '../../src/core/select.js';
import { findProfile, listProfiles } from '../../src/sim/profiles.js';
import type { Arch } from '../../src/core/types.js';
import { fixtureRegistry } from './helpers.js';

describe('aliasForVersion', () => {
  test.each([
    ['5.0.2195', 'win2000'],
    ['5.1.2600', 'xp'],
    ['5.2.3790', '2003'],
    ['6.0.6002', 'vista'],
    ['6.1.7601', 'win7'],
    ['6.2.9200', 'win8'],
    ['6.3.9600', 'win81'],
    ['10.0.10240', 'win10'],
    ['10.0.19045', 'win10'],
    ['10.0.21999', 'win10'],
    ['10.0.22000', 'win11'],
    ['10.0.26100', 'win11'],
    ['4.0.1381', 'unknown'],
    ['not a version', 'unknown'],
  ])('%s is %s', (version, alias) => {
    expect(aliasForVersion(version)).toBe(alias);
  });

  test('every simulator profile has a product alias', () => {
    for (const p of listProfiles()) expect(aliasForVersion(`${p.major}.${p.minor}.${p.build}`)).not.toBe('unknown');
  });
});

describe('os ranges with aliases', () => {
  test.each([
    ['xp', '5.1.2600', true],
    ['xp', '5.2.3790', false],
    ['>=win7', '6.1.7600', true],
    ['>=win7', '6.0.6002', false],
    ['<win10', '6.3.9600', true],
    ['<win10', '10.0.10240', false],
    ['<=win81', '6.3.9600', true],
    ['<=win81', '10.0.10240', false],
    ['>2003', '6.0.6000', true],
    ['>2003', '5.2.3790', false],
    ['>=xp <vista', '5.2.3790', true],
    ['xp || win7', '6.1.7601', true],
    ['xp || win7', '6.0.6002', false],
    ['win10-19h1+', '10.0.18362', true],
    ['win10-19h1+', '10.0.17763', false],
    ['win10-19h1+', '10.0.22631', true],
    ['win10', '10.0.22000', false],
    ['>=5.0.0 <5.2.0', '5.1.2600', true],
  ])('%s contains %s: %s', (spec, version, expected) => {
    expect(versionMatches(version, spec)).toBe(expected);
  });

  test('a spec that is neither alias nor semver names the problem', () => {
    expect(() => expandOsRange('windows-xp')).toThrow(/neither a semver range/);
  });
});

describe('factsForOs (plan --os)', () => {
  test('a named target the caller resolved (a simulator profile) gives its numbers', () => {
    const facts = factsForOs('winxp-sp3-x86', undefined, findProfile('winxp-sp3-x86'));
    expect(facts.os).toMatchObject({ version: '5.1.2600', alias: 'xp', sp: 3, arch: 'x86', pointerSize: 4 });
    expect(facts.pool).toEqual({ taggingEnabled: false, allocator: 'classic' });
  });
  test('an alias gives its representative version; arch defaults by era', () => {
    expect(factsForOs('win11').os).toMatchObject({ version: '10.0.22631', alias: 'win11', arch: 'x64', pointerSize: 8 });
    expect(factsForOs('xp').os.arch).toBe('x86');
    expect(factsForOs('win10-19h1+').pool.allocator).toBe('segment-heap');
  });
  test('a version and an explicit arch', () => {
    expect(factsForOs('6.1.7601', 'x86').os).toMatchObject({ alias: 'win7', arch: 'x86', build: 7601 });
    expect(factsForOs('6.1').os.version).toBe('6.1.0');
  });
  test('anything else is UNKNOWN_OS', () => {
    expect(() => factsForOs('windows')).toThrow(expect.objectContaining({ code: 'UNKNOWN_OS' }));
  });
});

// Which fx.rank provider wins, per named version and arch ('-' = NO_PROVIDER).
const rankMatrix: [string, Arch, string][] = [
  ['win2000', 'x86', 'legacy'],
  ['xp', 'x86', 'legacy'],
  ['xp', 'x64', '-'],
  ['2003', 'x86', 'modern'],
  ['2003', 'x64', 'modern'],
  ['vista', 'x86', 'modern'],
  ['win7', 'x86', 'modern'],
  ['win7', 'x64', 'modern'],
  ['win8', 'x64', 'modern'],
  ['win81', 'x86', 'modern'],
  ['10.0.17763', 'x64', 'modern'],
  ['win10-19h1+', 'x64', 'segment-heap'],
  ['win10', 'x64', 'segment-heap'],
  ['win10', 'x86', 'modern'],
  ['win11', 'x64', 'segment-heap'],
  ['win11', 'arm64', 'segment-heap'],
  ['win7', 'arm64', '-'],
];

describe('selectProvider across every named version and arch', () => {
  test.each(rankMatrix)('fx.rank on %s %s → %s', async (os, arch, expected) => {
    const registry = await fixtureRegistry();
    const facts = factsForOs(os, arch);
    const selection = selectProvider('fx.rank', facts, registry.providersOf('fx.rank'));
    // Every candidate is in the trace with a reason, whatever the outcome.
    expect(selection.trace.candidates.map((c) => c.provider).sort()).toEqual(['legacy', 'modern', 'segment-heap']);
    for (const c of selection.trace.candidates) expect(c.reason).not.toBe('');
    if (expected === '-') {
      expect(selection.ok).toBe(false);
      if (!selection.ok) expect(selection.error.code).toBe('NO_PROVIDER');
    } else {
      expect(selection.ok && selection.chosen.provider.id).toBe(expected);
      expect(selection.trace.candidates.filter((c) => c.accepted).map((c) => c.provider)).toEqual([expected]);
    }
  });

  test('every simulator profile gets exactly one fx.rank provider', async () => {
    const registry = await fixtureRegistry();
    for (const profile of listProfiles()) {
      const selection = selectProvider('fx.rank', factsForOs(profile.id, undefined, profile), registry.providersOf('fx.rank'));
      expect(selection.ok, profile.id).toBe(true);
    }
  });

  test('the trace explains rejections by os, arch and priority', async () => {
    const registry = await fixtureRegistry();
    const selection = selectProvider('fx.rank', factsForOs('win11', 'x64'), registry.providersOf('fx.rank'));
    const byId = Object.fromEntries(selection.trace.candidates.map((c) => [c.provider, c.reason]));
    expect(byId.legacy).toBe('os 10.0.22631 (win11) is outside >=win2000 <2003 (>=5.0.0 <5.2.0)');
    expect(byId.modern).toMatch(/^applies, but outranked by fx\/segment-heap \(priority 10 > 0\)$/);
    expect(byId['segment-heap']).toMatch(/^chosen \(priority 10/);
    const x86 = selectProvider('fx.rank', factsForOs('xp', 'x64'), registry.providersOf('fx.rank'));
    expect(x86.trace.candidates.find((c) => c.provider === 'legacy')!.reason).toBe('arch x64 is not one of x86');
  });

  test('two providers at the same top priority are AMBIGUOUS_PROVIDER, listing both', async () => {
    const registry = await fixtureRegistry();
    const selection = selectProvider('fx.tie', factsForOs('win7'), registry.providersOf('fx.tie'));
    expect(selection.ok).toBe(false);
    if (selection.ok) return;
    expect(selection.error.code).toBe('AMBIGUOUS_PROVIDER');
    expect(selection.error.message).toContain('fx/tie-a');
    expect(selection.error.message).toContain('fx-extra/tie-b');
    expect(selection.trace.candidates.every((c) => c.reason === 'applies, tied at priority 0')).toBe(true);
    // On another version only one applies.
    const vista = selectProvider('fx.tie', factsForOs('vista'), registry.providersOf('fx.tie'));
    expect(vista.ok).toBe(false);
    if (!vista.ok) expect(vista.error.code).toBe('NO_PROVIDER');
  });
});
