// The accuracy scenarios (scenarios/accuracy) and their truth file (expected.yaml): every
// scenario loads, the truth lists exactly the scenarios present, and each entry agrees with
// what the scenario's own drivers do (their `leak` fields), so a verdict can be scored against it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { findProfile } from '../../src/sim/profiles.js';
import { loadScenario } from '../../src/sim/scenario.js';
import type { Scenario, ScenarioSite } from '../../src/sim/scenario.js';

const folder = fileURLToPath(new URL('../../scenarios/accuracy/', import.meta.url));
const truthFile = 'expected.yaml';
const files = readdirSync(folder)
  .filter((name) => name.endsWith('.yaml') && name !== truthFile)
  .sort();

interface TruthEntry {
  file: string;
  pattern: string;
  verdict: 'leak' | 'no-leak';
  tag?: string;
  culprit?: string;
  also?: string[];
}

const truth = (parse(readFileSync(join(folder, truthFile), 'utf8')) as { scenarios: TruthEntry[] }).scenarios;

// `module!function` of a site and of each caller frame under it (offsets dropped).
function allocFrames(site: ScenarioSite): string[] {
  return [`${site.module}!${site.function}`, ...site.callers.map((frame) => `${frame.module}!${frame.function}`)];
}

function sitesOf(scenario: Scenario): ScenarioSite[] {
  return scenario.modules.flatMap((module) => module.sites);
}

describe('accuracy scenarios', () => {
  test('the suite holds at least 20 scenarios on x86 and x64, with leaks and no-leak traps', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
    const arches = new Set(files.map((name) => findProfile(loadScenario(join(folder, name)).profile)?.arch));
    expect([...arches].sort()).toEqual(['x64', 'x86']);
    const verdicts = new Set(truth.map((entry) => entry.verdict));
    expect([...verdicts].sort()).toEqual(['leak', 'no-leak']);
  });

  test.each(files)('%s loads and starts with a header comment naming the leaking site', (name) => {
    const text = readFileSync(join(folder, name), 'utf8');
    expect(text.startsWith(`# ${name}`)).toBe(true);
    expect(text).toMatch(/^# The leaking site: /m);
    const scenario = loadScenario(join(folder, name));
    expect(sitesOf(scenario).length).toBeGreaterThan(0);
  });

  test('expected.yaml lists exactly the scenario files present, once each', () => {
    const listed = truth.map((entry) => entry.file);
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual(files);
  });

  test('README.md has a row for every scenario', () => {
    const readme = readFileSync(join(folder, 'README.md'), 'utf8');
    for (const name of files) expect(readme, name).toContain(`| \`${name}\` |`);
  });

  test.each(truth.map((entry) => [entry.file, entry] as const))('%s: the truth agrees with the scenario', (_file, entry) => {
    expect(entry.pattern.trim().length).toBeGreaterThan(0);
    expect(['leak', 'no-leak']).toContain(entry.verdict);
    const sites = sitesOf(loadScenario(join(folder, entry.file)));
    const leaking = sites.filter((site) => site.leak > 0);
    if (entry.verdict === 'no-leak') {
      expect(entry.tag).toBeUndefined();
      expect(entry.culprit).toBeUndefined();
      expect(leaking.map((site) => site.id)).toEqual([]);
      return;
    }
    expect(entry.tag).toMatch(/^[\x20-\x7e]{1,4}$/);
    expect(entry.culprit).toMatch(/^[A-Za-z_][A-Za-z0-9_]*![^!\s+]+$/);
    const tag = entry.tag!.padEnd(4, ' ');
    const names = [entry.culprit!, ...(entry.also ?? [])];
    // Every leaking site is under the tag and on a path through the culprit: the truth names the whole leak.
    expect(leaking.length).toBeGreaterThan(0);
    for (const site of leaking) {
      expect(site.tag, site.id).toBe(tag);
      for (const name of names) expect(allocFrames(site), `${site.id} ${name}`).toContain(name);
    }
    // No balanced site under the tag allocates through the culprit or an accepted alternative.
    for (const site of sites.filter((candidate) => candidate.leak === 0 && candidate.tag === tag)) {
      for (const name of names) expect(allocFrames(site), `${site.id} ${name}`).not.toContain(name);
    }
  });
});
