import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { stripTranscriptHeader } from '../../src/kd/auto.js';
import { parseBreak } from '../../src/kd/break.js';
import { parseGflags } from '../../src/kd/global-flags.js';
import { parsePoolused } from '../../src/kd/poolused.js';
import { KdConsole } from '../../src/sim/console/console.js';
import { readHostRegistry, runHostCommand, writeHostRegistry } from '../../src/sim/host.js';
import { createKernel } from '../../src/sim/kernel/index.js';
import { defaultScenario } from '../../src/sim/scenario.js';

const SESSION_MANAGER = 'HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager';
const dirs: string[] = [];

// A fresh host-state folder.
function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'leakhunt-host-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('sim-host commands', () => {
  test('gflags /r +ptg writes the registry and prints it the way gflags.exe does', () => {
    const dir = stateDir();
    writeHostRegistry(dir, { globalFlag: 0, profile: 'winxp-sp3-x86' });
    const result = runHostCommand(dir, ['gflags', '/r', '+ptg']);
    expect(result).toEqual({ stdout: 'Current Boot Registry Settings are: 00000400\r\n    ptg - Enable pool tagging\r\n', exitCode: 0 });
    expect(readHostRegistry(dir)).toEqual({ globalFlag: 0x400, profile: 'winxp-sp3-x86' });
    expect(parseGflags(result.stdout)).toMatchObject({ value: 0x400, flags: ['ptg'], source: 'registry' });
    // Same shape as the real display (gflags-unknown-na-2.txt: value line, then one 4-space-indented line per flag).
    const real = stripTranscriptHeader(readFileSync(new URL('../fixtures/kd/gflags-unknown-na-2.txt', import.meta.url), 'utf8')).split('\n');
    expect(real[1]).toMatch(/^Current Boot Registry Settings are: [0-9a-f]{8}$/);
    expect(result.stdout.split('\r\n')[0]).toMatch(/^Current Boot Registry Settings are: [0-9a-f]{8}$/);
    expect(real[2]).toMatch(/^ {4}[a-z0-9]{3} - /);
    expect(result.stdout.split('\r\n')[1]).toMatch(/^ {4}[a-z0-9]{3} - /);
  });

  test('gflags /r -ptg clears it; gflags /r displays; hex values add and remove bits', () => {
    const dir = stateDir();
    runHostCommand(dir, ['gflags', '/r', '+ptg']);
    runHostCommand(dir, ['gflags', '/r', '+1000']);
    expect(runHostCommand(dir, ['gflags', '/r']).stdout).toBe(
      'Current Boot Registry Settings are: 00001400\r\n    ptg - Enable pool tagging\r\n    ust - Create user mode stack trace database\r\n',
    );
    runHostCommand(dir, ['gflags.exe', '/r', '-ptg']);
    expect(readHostRegistry(dir)?.globalFlag).toBe(0x1000);
    expect(runHostCommand(dir, ['gflags', '/r', '+nope']).exitCode).toBe(1);
  });

  test('reg query and reg add of Session Manager\\GlobalFlag', () => {
    const dir = stateDir();
    expect(runHostCommand(dir, ['reg', 'add', SESSION_MANAGER, '/v', 'GlobalFlag', '/t', 'REG_DWORD', '/d', '0x400', '/f'])).toEqual({
      stdout: 'The operation completed successfully.\r\n\r\n', exitCode: 0,
    });
    expect(runHostCommand(dir, ['reg', 'query', SESSION_MANAGER, '/v', 'GlobalFlag']).stdout).toBe(
      '\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\r\n    GlobalFlag    REG_DWORD    0x400\r\n\r\n',
    );
    expect(runHostCommand(dir, ['reg', 'query', 'HKLM\\SOFTWARE\\Other', '/v', 'GlobalFlag']).exitCode).toBe(1);
    expect(runHostCommand(dir, ['format', 'c:'])).toMatchObject({ exitCode: 1, stdout: expect.stringContaining("'format' is not recognized") });
  });
});

describe('host channel round trip', () => {
  test('XP: tagging is off until gflags /r +ptg on the host and a reboot; the simulator reads the registry at boot', () => {
    const dir = stateDir();
    const scenario = defaultScenario();
    scenario.preloadMs = 60_000;
    writeHostRegistry(dir, { globalFlag: scenario.registry.globalFlag, profile: scenario.profile });
    const kernel = createKernel(scenario, { seed: 3 });
    const console = new KdConsole(kernel, {
      beforeBoot: (target) => target.setRegistryGlobalFlag(readHostRegistry(dir)?.globalFlag ?? 0),
    });
    console.connect();
    const run = (line: string) => console.execute(line).text.slice(0, -console.prompt().length);
    expect(kernel.taggingEnabled()).toBe(false);
    expect(run('!poolused 4')).toBe('unable to get tag table.\n');

    expect(runHostCommand(dir, ['gflags', '/r', '+ptg']).exitCode).toBe(0);
    const boots = kernel.bootCount();
    const reboot = run('.reboot');
    const events = parseBreak(reboot, { command: '.reboot' }).events;
    expect(events.map((event) => event.kind)).toEqual(['reconnect', 'break-in']);
    expect(events[0].reconnect).toMatchObject({ waiting: true, established: true, connected: { build: 2600, ptr64: false } });
    expect(kernel.bootCount()).toBe(boots + 1);
    expect(kernel.registryGlobalFlag()).toBe(0x400);
    expect(kernel.taggingEnabled()).toBe(true);

    console.execute('g');
    console.run(30_000);
    console.interrupt();
    const rows = parsePoolused(run('!poolused 4')).rows;
    expect(rows.map((row) => row.tag)).toContain('Abc ');
    expect(rows[0].paged.allocs).toBeGreaterThan(0);
  });
});
