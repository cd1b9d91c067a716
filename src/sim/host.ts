/**
 * The simulated target machine's command line (`leakhunt sim-host --state <dir> -- <command>`):
 * `gflags /r [+flag|-flag|hex]` and `reg query|add` of the Session Manager GlobalFlag value.
 * It keeps the registry in `<dir>/registry.json`, which the `leakhunt sim` process started with
 * `--host-state <dir>` reads at every boot. A real user's target puts winrs, psexec or ssh here.
 *
 * gflags.exe output: gflags-unknown-na-1.txt … -3.txt (`Current Boot Registry Settings are: 00000400`
 * then `    ptg - Enable pool tagging`). reg.exe output has no transcript among the fixtures; it
 * follows reg.exe's documented layout (blank line, key, `    GlobalFlag    REG_DWORD    0x400`).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyFlagArgument, flagHex, flagLines } from './console/gflag-table.js';

/** What `<dir>/registry.json` holds. */
export interface HostRegistry {
  /** HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\GlobalFlag. */
  globalFlag: number;
  /** The profile of the simulated target, when the simulator wrote the file. */
  profile?: string;
}

const SESSION_MANAGER = 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Session Manager';

/** The registry file of a host-state directory. */
export function registryPath(dir: string): string {
  return join(dir, 'registry.json');
}

/** Read `<dir>/registry.json`; undefined when there is none. */
export function readHostRegistry(dir: string): HostRegistry | undefined {
  const file = registryPath(dir);
  if (!existsSync(file)) return undefined;
  const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<HostRegistry>;
  return { globalFlag: Number(data.globalFlag ?? 0) >>> 0, profile: data.profile };
}

/** Write `<dir>/registry.json` atomically (the simulator may read it at any boot). */
export function writeHostRegistry(dir: string, registry: HostRegistry): void {
  mkdirSync(dir, { recursive: true });
  const file = registryPath(dir);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ ...registry, globalFlag: registry.globalFlag >>> 0 }, null, 2)}\n`);
  renameSync(temporary, file);
}

/** What a host command printed and its exit code. */
export interface HostCommandResult {
  stdout: string;
  exitCode: number;
}

// The gflags.exe display of the boot registry value.
function gflagsDisplay(value: number): string {
  return [`Current Boot Registry Settings are: ${flagHex(value)}`, ...flagLines(value)].join('\r\n') + '\r\n';
}

// cmd.exe's reply to a command it cannot run.
function notRecognized(name: string): HostCommandResult {
  return { stdout: `'${name}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n`, exitCode: 1 };
}

// Is this the Session Manager key, in any of reg.exe's spellings?
function isSessionManagerKey(key: string): boolean {
  const normalized = key.replace(/^HKLM\\/i, 'HKEY_LOCAL_MACHINE\\').replace(/\\+$/, '').toLowerCase();
  return normalized === SESSION_MANAGER.toLowerCase();
}

/** Run one command on the simulated target machine, with its registry in `dir`. */
export function runHostCommand(dir: string, argv: readonly string[]): HostCommandResult {
  const [program, ...args] = argv;
  if (!program) return { stdout: '', exitCode: 0 };
  const name = program.replace(/\.exe$/i, '').toLowerCase();
  const registry = readHostRegistry(dir) ?? { globalFlag: 0 };
  if (name === 'gflags') return gflags(dir, registry, args);
  if (name === 'reg') return reg(dir, registry, args);
  return notRecognized(program);
}

// `gflags /r`, `gflags /r +ptg`, `gflags /r -ptg`, `gflags /r 400`.
function gflags(dir: string, registry: HostRegistry, args: readonly string[]): HostCommandResult {
  if (args[0]?.toLowerCase() !== '/r') {
    return { stdout: 'This simulated target supports only gflags /r [+flag|-flag|value].\r\n', exitCode: 1 };
  }
  let value = registry.globalFlag;
  for (const argument of args.slice(1)) {
    const next = applyFlagArgument(value, argument);
    if (next === undefined) return { stdout: `Invalid flag: ${argument}\r\n`, exitCode: 1 };
    value = next;
  }
  if (value !== registry.globalFlag) writeHostRegistry(dir, { ...registry, globalFlag: value });
  return { stdout: gflagsDisplay(value), exitCode: 0 };
}

// `reg query <key> /v GlobalFlag` and `reg add <key> /v GlobalFlag /t REG_DWORD /d <value> /f`.
function reg(dir: string, registry: HostRegistry, args: readonly string[]): HostCommandResult {
  const [operation, key, ...options] = args;
  const option = (flag: string) => {
    const index = options.findIndex((item) => item.toLowerCase() === flag);
    return index >= 0 ? options[index + 1] : undefined;
  };
  const invalid = { stdout: 'ERROR: Invalid syntax.\r\nType "REG /?" for usage.\r\n', exitCode: 1 };
  if (!operation || !key) return invalid;
  const valueName = option('/v');
  if (!isSessionManagerKey(key) || (valueName !== undefined && valueName.toLowerCase() !== 'globalflag')) {
    return { stdout: 'ERROR: The system was unable to find the specified registry key or value.\r\n', exitCode: 1 };
  }
  if (operation.toLowerCase() === 'query') {
    const line = `    GlobalFlag    REG_DWORD    0x${(registry.globalFlag >>> 0).toString(16)}`;
    return { stdout: `\r\n${SESSION_MANAGER}\r\n${line}\r\n\r\n`, exitCode: 0 };
  }
  if (operation.toLowerCase() === 'add') {
    const type = option('/t');
    const data = option('/d');
    if (valueName === undefined || data === undefined || (type !== undefined && type.toUpperCase() !== 'REG_DWORD')) return invalid;
    const parsed = /^0x[0-9a-f]+$/i.test(data) ? Number.parseInt(data.slice(2), 16) : /^\d+$/.test(data) ? Number(data) : Number.NaN;
    if (!Number.isFinite(parsed)) return invalid;
    writeHostRegistry(dir, { ...registry, globalFlag: parsed >>> 0 });
    return { stdout: 'The operation completed successfully.\r\n\r\n', exitCode: 0 };
  }
  return invalid;
}
