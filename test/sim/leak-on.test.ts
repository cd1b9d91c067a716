// A scenario's drivers on another profile (sim:<scenario>@<profile>) and a site that leaks only
// on some Windows versions (leakOn): the lab's way to run one driver model on every version.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { listProfiles } from '../../src/sim/profiles.js';
import { selectScenario } from '../../src/sim/process.js';
import { isScenarioError, loadScenario, parseScenario, siteLeak, validateScenario } from '../../src/sim/scenario.js';
import { parseSimTarget } from '../../src/sim/target-spec.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const netx = join(root, 'scenarios/lab/netx.yaml');

const site = (extra: string) => `profile: win7-sp1-x64
modules:
  - name: drv
    sites:
      - id: a
        function: DrvAlloc
        tag: Drv1
        pool: paged
        size: 64
        rate: 1
        lifetime: 1s
        leak: 0.5
${extra}`;

describe('leakOn', () => {
  test('the site leaks on the versions in its range and frees everything elsewhere', () => {
    const scenario = loadScenario(netx);
    const rx = scenario.modules[0]!.sites.find((s) => s.id === 'rx-context')!;
    expect(rx.leakOn).toBe('>=10.0.17763');
    const leaking = listProfiles().filter((profile) => siteLeak(rx, profile) > 0).map((profile) => profile.id);
    expect(leaking).toEqual(['win10-1809-x64', 'win10-22h2-x64', 'win11-23h2-x64', 'win11-24h2-x64']);
    expect(siteLeak(rx, listProfiles().find((p) => p.id === 'win10-1607-x64')!)).toBe(0);
    expect(siteLeak(rx, listProfiles().find((p) => p.id === 'win10-1809-x64')!)).toBe(0.2);
  });

  test('aliases work as in step providers', () => {
    const scenario = parseScenario(site('        leakOn: ">=win7 <win10"\n'), 'x.yaml');
    const only = listProfiles().filter((profile) => siteLeak(scenario.modules[0]!.sites[0]!, profile) > 0).map((profile) => profile.major * 10 + profile.minor);
    expect(new Set(only)).toEqual(new Set([61, 63]));
  });

  test('a range that is not one is refused at its position', () => {
    const { scenario, problems } = validateScenario(site('        leakOn: "since forever"\n'), 'x.yaml');
    expect(scenario).toBeUndefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'SCENARIO_BAD_RANGE', line: 13, column: 17, path: ['modules', 0, 'sites', 0, 'leakOn'] });
    expect(problems[0]!.message).toMatch(/leakOn .*"since forever"/);
  });
});

describe('sim:<scenario>@<profile>', () => {
  test('names the scenario and the profile its drivers run on', () => {
    expect(parseSimTarget('lab/netx.yaml@win7-sp1-x64', join(root, 'scenarios'))).toEqual({ scenario: netx, profile: 'win7-sp1-x64' });
    expect(parseSimTarget('win7-sp1-x64')).toEqual({ profile: 'win7-sp1-x64' });
  });

  test('an unknown profile or a profile after a profile is a usage message', () => {
    expect(() => parseSimTarget('netx.yaml@win12')).toThrow(/Unknown profile "win12" after @; the profiles are win2000-sp4-x86/);
    expect(() => parseSimTarget('win7-sp1-x64@win81-x64')).toThrow(/only a scenario file takes @<profile>/);
  });

  test('the simulator runs the file on the profile given, the file\'s own otherwise', () => {
    expect(selectScenario({ scenario: netx, profile: 'winxp-sp3-x86' }).profile).toBe('winxp-sp3-x86');
    expect(selectScenario({ scenario: netx }).profile).toBe('win10-1809-x64');
    try {
      selectScenario({ scenario: netx, profile: 'nope' });
      expect.unreachable();
    } catch (error) {
      expect(isScenarioError(error) && error.problems[0]!.code).toBe('SCENARIO_UNKNOWN_PROFILE');
    }
  });
});
