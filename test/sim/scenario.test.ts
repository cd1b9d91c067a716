import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { isInventoryText } from '../../src/lab/inventory.js';
import { listProfiles } from '../../src/sim/profiles.js';
import {
  ScenarioError,
  defaultScenario,
  formatProblem,
  isScenarioError,
  loadScenario,
  parseScenario,
  scenarioForProfile,
  validateScenario,
} from '../../src/sim/scenario.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const readyFolder = join(root, 'scenarios');
// Lab inventories (scenarios/lab-all-versions.yaml) live beside the scenarios; they are not scenarios.
const ready = readdirSync(readyFolder).filter((name) => name.endsWith('.yaml') && !isInventoryText(readFileSync(join(readyFolder, name), 'utf8')));

describe('ready scenarios', () => {
  test('the required ones ship', () => {
    for (const name of ['default.yaml', 'shared-tag-two-drivers.yaml', 'two-sites-one-tag.yaml', 'large-stable-vs-small-growing.yaml', 'nonpaged-leak.yaml', 'busy-no-leak.yaml']) {
      expect(ready).toContain(name);
    }
  });

  test.each(ready)('%s loads and starts with a comment header', (name) => {
    const file = join(readyFolder, name);
    expect(readFileSync(file, 'utf8').startsWith('#')).toBe(true);
    const scenario = loadScenario(file);
    expect(scenario.modules.length).toBeGreaterThan(0);
    expect(listProfiles().map((profile) => profile.id)).toContain(scenario.profile);
  });

  test('one scenario per profile family', () => {
    const profiles = new Set(ready.map((name) => loadScenario(join(readyFolder, name)).profile));
    const families = {
      '2000/XP': ['win2000-sp4-x86', 'winxp-sp3-x86'],
      '2003/Vista/7': ['win2003-sp2-x86', 'win2003-sp2-x64', 'vista-sp2-x86', 'win7-sp1-x86', 'win7-sp1-x64'],
      '8.1/10 classic': ['win81-x64', 'win10-1607-x64', 'win10-1809-x64'],
      'segment heap': ['win10-22h2-x64', 'win11-23h2-x64', 'win11-24h2-x64'],
    };
    for (const members of Object.values(families)) expect(members.some((id) => profiles.has(id))).toBe(true);
  });

  test('default.yaml is the built-in default scenario', () => {
    const fromFile = loadScenario(join(readyFolder, 'default.yaml'));
    const builtIn = defaultScenario();
    expect({ ...fromFile, file: '', description: '' }).toEqual({ ...builtIn, file: '', description: '' });
    expect(builtIn.profile).toBe('winxp-sp3-x86');
    expect(builtIn.registry.globalFlag & 0x400).toBe(0);
    const site = builtIn.modules[0]!.sites[0]!;
    expect(site).toMatchObject({ tag: 'Abc ', pool: 'paged' });
    expect(site.leak).toBeGreaterThan(0);
    expect(builtIn.background.map((entry) => entry.tag)).toEqual(['Tron', 'IoN7', 'Gla5', 'Gla5', 'Ggb ']);
  });

  test('busy-no-leak leaks nothing and every other ready scenario leaks at one site', () => {
    for (const name of ready) {
      const leaking = loadScenario(join(readyFolder, name)).modules.flatMap((module) => module.sites).filter((site) => site.leak > 0);
      expect(leaking.length, name).toBe(name === 'busy-no-leak.yaml' ? 0 : 1);
    }
  });
});

describe('scenarioForProfile', () => {
  test.each(listProfiles().map((profile) => profile.id))('%s', (id) => {
    const scenario = scenarioForProfile(id);
    expect(scenario.profile).toBe(id);
    expect(scenario.modules[0]!.sites[0]!.leak).toBeGreaterThan(0);
  });

  test('unknown profile is a coded error', () => {
    expect(() => scenarioForProfile('win95')).toThrow(ScenarioError);
  });
});

describe('normalisation', () => {
  test('durations, ranges, tags and caller frames', () => {
    const scenario = parseScenario(
      [
        'profile: win7-sp1-x64',
        'preload: 90s',
        'modules:',
        '  - name: drv',
        '    sites:',
        '      - id: a',
        '        function: "DXGCONTEXT::SubmitCommand"',
        '        callers: [dxgkrnl!DxgkSubmitCommand+0x4a, nt!IofCallDriver]',
        '        tag: Ab',
        '        pool: nonpaged',
        '        size: [16, 64]',
        '        rate: 0.5',
        '        lifetime: [10ms, 2s]',
        'background:',
        '  - { tag: "X", pool: paged, bytes: 100, allocs: 3 }',
      ].join('\n'),
      'inline.yaml',
    );
    expect(scenario.preloadMs).toBe(90_000);
    expect(scenario.seed).toBe(1);
    const site = scenario.modules[0]!.sites[0]!;
    expect(site).toMatchObject({ tag: 'Ab  ', size: { min: 16, max: 64 }, lifetimeMs: { min: 10, max: 2000 }, leak: 0, module: 'drv' });
    expect(site.callers).toEqual([
      { module: 'dxgkrnl', function: 'DxgkSubmitCommand', offset: 0x4a },
      { module: 'nt', function: 'IofCallDriver' },
    ]);
    expect(scenario.background[0]).toMatchObject({ tag: 'X   ', rate: 0 });
    expect(scenario.modules[0]!.image).toBe('drv.sys');
  });
});

const site = (extra: string) =>
  [
    '      - id: a',
    '        function: F',
    '        tag: "Abc "',
    '        pool: paged',
    '        size: 10',
    '        rate: 1',
    '        lifetime: 1s',
    extra,
  ].filter(Boolean).join('\n');

// Broken scenarios: each problem with its code and 1-based position.
const broken: { name: string; text: string; expect: { code: string; line: number; column: number }[] }[] = [
  { name: 'yaml syntax', text: 'profile: [winxp-sp3-x86\n', expect: [{ code: 'SCENARIO_YAML_SYNTAX', line: 2, column: 1 }] },
  { name: 'unknown profile', text: 'profile: win95\n', expect: [{ code: 'SCENARIO_UNKNOWN_PROFILE', line: 1, column: 10 }] },
  { name: 'missing profile', text: 'seed: 3\n', expect: [{ code: 'SCENARIO_SCHEMA', line: 1, column: 1 }] },
  { name: 'unknown key', text: 'profile: winxp-sp3-x86\nprofil: x\n', expect: [{ code: 'SCENARIO_SCHEMA', line: 2, column: 1 }] },
  {
    name: 'leak out of range and bad pool, both reported',
    text: `profile: winxp-sp3-x86\nmodules:\n  - name: d\n    sites:\n${site('        leak: 1.5').replace('pool: paged', 'pool: session')}\n`,
    expect: [
      { code: 'SCENARIO_SCHEMA', line: 8, column: 15 },
      { code: 'SCENARIO_SCHEMA', line: 12, column: 15 },
    ],
  },
  {
    name: 'tag too long',
    text: `profile: winxp-sp3-x86\nmodules:\n  - name: d\n    sites:\n${site('').replace('"Abc "', 'Abcde')}\n`,
    expect: [{ code: 'SCENARIO_SCHEMA', line: 7, column: 14 }],
  },
  {
    name: 'blank tag',
    text: `profile: winxp-sp3-x86\nmodules:\n  - name: d\n    sites:\n${site('').replace('"Abc "', '"  "')}\n`,
    expect: [{ code: 'SCENARIO_BAD_TAG', line: 7, column: 14 }],
  },
  {
    name: 'duplicate site id',
    text: `profile: winxp-sp3-x86\nmodules:\n  - name: d\n    sites:\n${site('')}\n${site('')}\n`,
    expect: [{ code: 'SCENARIO_DUPLICATE_SITE', line: 12, column: 13 }],
  },
  {
    name: 'bad duration and reversed size range',
    text: `profile: winxp-sp3-x86\npreload: 2 fortnights\nmodules:\n  - name: d\n    sites:\n${site('').replace('size: 10', 'size: [64, 8]')}\n`,
    expect: [
      { code: 'SCENARIO_BAD_DURATION', line: 2, column: 10 },
      { code: 'SCENARIO_BAD_RANGE', line: 10, column: 15 },
    ],
  },
  {
    name: 'schema and semantic problems in one pass: unknown profile, bad tag, min > max, duplicate site',
    text: `profile: winxp-sp9-x86\nmodules:\n  - name: d\n    sites:\n${site('').replace('tag: "Abc "', 'tag: ABCDE').replace('size: 10', 'size: [64, 8]')}\n${site('')}\n`,
    expect: [
      { code: 'SCENARIO_UNKNOWN_PROFILE', line: 1, column: 10 },
      { code: 'SCENARIO_SCHEMA', line: 7, column: 14 },
      { code: 'SCENARIO_BAD_RANGE', line: 9, column: 15 },
      { code: 'SCENARIO_DUPLICATE_SITE', line: 12, column: 13 },
    ],
  },
  {
    name: 'missing site field',
    text: `profile: winxp-sp3-x86\nmodules:\n  - name: d\n    sites:\n${site('').replace('        rate: 1\n', '')}\n`,
    expect: [{ code: 'SCENARIO_SCHEMA', line: 5, column: 9 }],
  },
  {
    name: 'bad caller frame',
    text: `profile: winxp-sp3-x86\nmodules:\n  - name: d\n    sites:\n${site('        callers: [IofCallDriver]')}\n`,
    expect: [{ code: 'SCENARIO_SCHEMA', line: 12, column: 19 }],
  },
  {
    name: 'reserved module name',
    text: `profile: winxp-sp3-x86\nmodules:\n  - name: nt\n    sites:\n${site('')}\n`,
    expect: [{ code: 'SCENARIO_RESERVED_MODULE', line: 3, column: 11 }],
  },
];

describe('validation errors with positions', () => {
  test.each(broken)('$name', ({ text, expect: expected }) => {
    const { scenario, problems } = validateScenario(text, 'broken.yaml');
    expect(scenario).toBeUndefined();
    expect(problems.map(({ code, line, column }) => ({ code, line, column }))).toEqual(expected);
    for (const problem of problems) expect(formatProblem(problem)).toMatch(/^broken\.yaml:\d+:\d+ SCENARIO_[A-Z_]+: \S/);
  });

  test('parseScenario throws one error listing every problem', () => {
    const text = broken.find((entry) => entry.name.startsWith('leak out of range'))!.text;
    try {
      parseScenario(text, 'x.yaml');
      expect.unreachable();
    } catch (error) {
      expect(isScenarioError(error)).toBe(true);
      expect((error as ScenarioError).problems).toHaveLength(2);
      expect((error as ScenarioError).message.split('\n')).toHaveLength(2);
    }
  });

  test('an unreadable file is a coded error', () => {
    expect(() => loadScenario(join(root, 'scenarios', 'does-not-exist.yaml'))).toThrow(/SCENARIO_FILE_UNREADABLE/);
  });
});

describe('scenario messages say what was found and what is accepted', () => {
  test('a bad tag shows the value found, in words', () => {
    const text = `profile: winxp-sp3-x86\nmodules:\n  - name: d\n    sites:\n${site('').replace('tag: "Abc "', 'tag: ABCDE')}\n`;
    const { problems } = validateScenario(text, 'x.yaml');
    expect(problems.map((problem) => problem.message)).toEqual(['Expected modules[0].sites[0].tag to be a pool tag: 1 to 4 printable ASCII characters, got "ABCDE" (5 characters)']);
  });
});
