/**
 * Parse what kd says about the target's Windows version: the connect banner, `vertarget`, and
 * the target block at the top of `version`. The build always comes from numbers (`Kernel
 * Version NNNN`, `Built by:` / `Edition build lab:`), never from kd's marketing name, which is
 * wrong for Windows 11 ("Windows 10 Kernel Version 22621") and sometimes for 8.1 ("Windows 8").
 */
import { KdParseError, normalizeAddress, splitLines, type ParseResultBase } from './common.js';
import { isSymbolLabel, labelLocation, parseInstructionLine, type Instruction, type StopLocation } from './disasm.js';
import { matchPrompt } from './prompt.js';
import { isReloadNoiseLine } from './reload.js';

/** Architecture as leakhunt names it. */
export type KdArch = 'x86' | 'x64' | 'arm64';

/** The operating system, as far as the text tells it. */
export interface ParsedOs {
  /** `major.minor.build` derived from the build number (`6.1.7601`). */
  version: string;
  build: number;
  /** Service pack number; 0 when kd printed none. */
  sp: number;
  arch?: KdArch;
  pointerSize?: 4 | 8;
  /** `MP` (true) or `UP` (false). */
  mp?: boolean;
  /** From `MP (N procs)`; 1 for `UP`; absent for a bare `MP`. */
  processors?: number;
  /** kd's product type from `Product: WinNt, suite: …` (`WinNt`, `LanManNt`, `ServerNt`). */
  product?: string;
  /** Suite words from the `Product:` line. */
  suite?: string[];
  /** `Built by:` / `Edition build lab:` value (`7601.17640.amd64fre.win7sp1_gdr.110622-1506`). */
  buildLab?: string;
  /** kd's own label (`Windows 10`, `Windows XP`); unreliable, kept for display only. */
  name?: string;
  /** True for a checked (debug) build. */
  checked?: boolean;
  /** From a user-mode `kernelbase.dll version:` line (`6.1.7601.17514`). */
  fileVersion?: string;
}

/** One `Connected to Windows … target …` line. */
export interface ConnectedTarget {
  /** kd's label (`Windows 10`). */
  name: string;
  build: number;
  arch?: KdArch;
  ptr64?: boolean;
  /** The time in parentheses after `at`, as printed. */
  at?: string;
}

/** The debugger's own banner line (`Microsoft (R) Windows Debugger Version 10.0.17074.1002 AMD64`). */
export interface DebuggerInfo {
  version: string;
  /** `AMD64`, `X86`, `ARM64` as printed. */
  arch?: string;
}

/** One extension DLL from the `version` command's `Extension DLL chain:`. */
export interface ExtensionInfo {
  name: string;
  image?: string;
  path?: string;
}

/** Result of `banner`, `vertarget` and `version`. */
export interface VersionResult extends ParseResultBase {
  os?: ParsedOs;
  /** `Kernel base = …` (or undefined in user mode). */
  kernelBase?: string;
  psLoadedModuleList?: string;
  /** `System Uptime:` in seconds. */
  uptime?: number;
  /** `Process Uptime:` in seconds (user-mode `version`). */
  processUptime?: number;
  /** `Debug session time:` as printed. */
  sessionTime?: string;
  machineName?: string;
  connected?: ConnectedTarget;
  debugger?: DebuggerInfo;
  symbolPath?: string;
  executablePath?: string;
  /** Connection phases seen: `Waiting to reconnect...`, `Kernel Debugger connection established.` */
  connection?: { established: boolean; initialBreakpoint: boolean; transport?: string; remote?: string };
  /** Extension DLL chain of the `version` command. */
  extensions?: ExtensionInfo[];
  /** Text of `****` warning boxes (local kernel debugging warning). */
  warnings: string[];
  /** Where the target sits when the banner ends with it (`nt!KeBugCheckEx:` in a dump's banner). */
  location?: StopLocation;
  /** The instruction printed under that location. */
  instruction?: Instruction;
}

/** What to parse: kd prints the same block in its banner, for `vertarget` and atop `version`. */
export type VersionKind = 'banner' | 'vertarget' | 'version';

// Architecture words kd prints at the end of the version and `Connected to` lines.
const ARCH_WORDS: readonly [string, KdArch][] = [
  ['x86 compatible', 'x86'],
  ['ARM 64-bit (AArch64)', 'arm64'],
  ['x64', 'x64'],
  ['x86', 'x86'],
];

/** NT `major.minor` for a build number (2600 → 5.1, 7601 → 6.1, 22621 → 10.0). */
export function ntVersionForBuild(build: number): string {
  if (build >= 9800) return '10.0';
  if (build >= 9600) return '6.3';
  if (build >= 8000) return '6.2';
  if (build >= 7000) return '6.1';
  if (build >= 5000) return '6.0';
  if (build >= 3500) return '5.2';
  if (build >= 2196) return '5.1';
  if (build >= 1600) return '5.0';
  if (build >= 1381) return '4.0';
  if (build >= 1057) return '3.51';
  return '3.50';
}

// `x64` → arch; undefined when the text names no known architecture.
function archFromWords(words: string): KdArch | undefined {
  const trimmed = words.trim();
  for (const [word, arch] of ARCH_WORDS) if (trimmed === word) return arch;
  return undefined;
}

// The architecture a build-lab string names (`amd64fre`, `x86chk`, `arm64fre`).
function archFromBuildLab(buildLab: string): KdArch | undefined {
  const match = /\.(amd64|x86|arm64)(?:fre|chk)\./.exec(buildLab);
  if (!match) return undefined;
  return match[1] === 'amd64' ? 'x64' : (match[1] as KdArch);
}

/** Parse `Connected to Windows 10 16299 x64 target at (…), ptr64 TRUE` (also without `at`/`ptr64`). */
export function parseConnectedLine(line: string): ConnectedTarget | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('Connected to Windows')) return undefined;
  const rest = trimmed.slice('Connected to '.length);
  const targetAt = rest.indexOf(' target');
  if (targetAt < 0) return undefined;
  let head = rest.slice(0, targetAt);
  const tail = rest.slice(targetAt + ' target'.length);
  let arch: KdArch | undefined;
  for (const [word, value] of ARCH_WORDS) {
    if (head.endsWith(` ${word}`)) {
      arch = value;
      head = head.slice(0, head.length - word.length - 1);
      break;
    }
  }
  const buildMatch = / (\d+)$/.exec(head);
  if (!buildMatch) return undefined;
  const connected: ConnectedTarget = { name: head.slice(0, buildMatch.index), build: Number(buildMatch[1]) };
  if (arch) connected.arch = arch;
  const ptr64 = /, ptr64 (TRUE|FALSE)\s*$/.exec(tail);
  if (ptr64) connected.ptr64 = ptr64[1] === 'TRUE';
  if (tail.startsWith(' at (')) {
    const end = ptr64 ? ptr64.index : tail.trimEnd().length;
    const inner = tail.slice(' at ('.length, end).trimEnd();
    connected.at = inner.endsWith(')') ? inner.slice(0, -1) : inner;
  }
  return connected;
}

/** The fields of a `Windows 7 Kernel Version 7601 (Service Pack 1) MP (4 procs) Free x64` line. */
export interface KernelVersionLine {
  name?: string;
  build: number;
  sp: number;
  mp: boolean;
  processors?: number;
  checked: boolean;
  arch?: KdArch;
  /** Text before the version phrase that is not part of it (a quoting prefix); empty when none. */
  prefix: string;
  /** True for the user-mode form `Windows 7 Version 7601 …` (no `Kernel`). */
  userMode: boolean;
}

// The part after `Kernel Version `: build, service pack, UP/MP, procs, Free/Checked, arch words.
const VERSION_TAIL = /^(\d+)(?: \(Service Pack (\d+)\))? (UP|MP)(?: \((\d+) procs\))? (Free|Checked)(?: (.*))?$/;

/** Parse the version line of a banner, `vertarget` or `version`; undefined when the line is not one. */
export function parseKernelVersionLine(line: string): KernelVersionLine | undefined {
  const trimmed = line.trim();
  let at = trimmed.indexOf('Kernel Version ');
  let phraseLength = 'Kernel Version '.length;
  let userMode = false;
  if (at < 0) {
    // User-mode `version` prints `Windows 7 Version 7601 (Service Pack 1) UP Free x64`.
    const user = /^Windows [^ ]+(?: [^ ]+)? Version /.exec(trimmed);
    if (!user) return undefined;
    at = user[0].length - 'Version '.length;
    phraseLength = 'Version '.length;
    userMode = true;
  }
  const tail = VERSION_TAIL.exec(trimmed.slice(at + phraseLength).trimEnd());
  if (!tail) return undefined;
  const before = trimmed.slice(0, at).trimEnd();
  const windowsAt = before.lastIndexOf('Windows');
  const name = windowsAt >= 0 ? before.slice(windowsAt) : undefined;
  const prefix = windowsAt >= 0 ? before.slice(0, windowsAt).trim() : before;
  const parsed: KernelVersionLine = {
    build: Number(tail[1]),
    sp: tail[2] !== undefined ? Number(tail[2]) : 0,
    mp: tail[3] === 'MP',
    checked: tail[5] === 'Checked',
    prefix,
    userMode,
  };
  if (name) parsed.name = name;
  if (tail[4] !== undefined) parsed.processors = Number(tail[4]);
  else if (tail[3] === 'UP') parsed.processors = 1;
  const arch = tail[6] !== undefined ? archFromWords(tail[6]) : undefined;
  if (arch) parsed.arch = arch;
  return parsed;
}

/** `0 days 3:17:48.015` → seconds (11868.015); undefined when the text is not a kd duration. */
export function parseKdDuration(text: string): number | undefined {
  const match = /^(\d+) days? (\d+):(\d{2}):(\d{2})(?:\.(\d{1,3}))?\s*$/.exec(text.trim());
  if (!match) return undefined;
  const milliseconds = match[5] !== undefined ? Number(match[5].padEnd(3, '0')) : 0;
  const seconds = Number(match[1]) * 86400 + Number(match[2]) * 3600 + Number(match[3]) * 60 + Number(match[4]);
  return Math.round((seconds + milliseconds / 1000) * 1000) / 1000;
}

// Lines that start a field of the banner block; a fragment run ends at one of these.
const FIELD_START = /^(?:Built by:|Edition build lab:|Machine Name:|Kernel base =|Debug session time:|System Uptime:|Product:|Symbol search path is:|Executable search path is:)/;

// dbgeng hands text to output callbacks in pieces; a client that logs each piece on its own row
// splits the version and Product lines. Rejoin them so the line parsers see kd's real lines.
function joinFragments(lines: readonly string[]): { text: string; first: number; last: number }[] {
  const joined: { text: string; first: number; last: number }[] = [];
  for (let index = 0; index < lines.length; index++) {
    const trimmed = lines[index].trim();
    const startsVersion = /^Windows\b.{0,40}\bKernel$/.test(trimmed);
    const startsProduct = trimmed === 'Product:';
    if (!startsVersion && !startsProduct) {
      joined.push({ text: lines[index], first: index, last: index });
      continue;
    }
    let text = trimmed;
    let last = index;
    for (let next = index + 1; next < lines.length && next <= index + 8; next++) {
      const piece = lines[next].trim();
      if (piece === '' || FIELD_START.test(piece) || matchPrompt(piece)) break;
      text = piece.startsWith(',') ? text + piece : `${text} ${piece}`;
      last = next;
      if (startsVersion && parseKernelVersionLine(text)) break;
    }
    joined.push({ text, first: index, last });
    index = last;
  }
  return joined;
}

// Boxed warnings are framed by lines of asterisks; the text inside is one warning.
function isStarRule(trimmed: string): boolean {
  return /^\*{20,}$/.test(trimmed);
}

// `Microsoft (R) Windows Debugger Version 10.0.17074.1002 AMD64`
function parseDebuggerLine(trimmed: string): DebuggerInfo | undefined {
  const match = /^Microsoft \(R\) Windows Debugger Version (\S+)(?: (\S+))?$/.exec(trimmed);
  if (!match) return undefined;
  const info: DebuggerInfo = { version: match[1] };
  if (match[2]) info.arch = match[2];
  return info;
}

// Banner and `version` lines that carry nothing leakhunt uses but are known kd output.
const KNOWN_NOISE: readonly RegExp[] = [
  /^Copyright \(c\) Microsoft Corporation\. All rights reserved\.$/,
  /^Opened WinSock 2\.0$/,
  /^You can get the target MAC address by running \.kdtargetmac command\.$/,
  /^\*+ Path validation summary \*+$/,
  /^Response\s+Time \(ms\)\s+Location$/,
  /^(?:Deferred|OK)\s+\S/,
  /^(?:Mini )?Kernel (?:Complete |Summary |Bitmap |Active )?Dump File: /,
  /^For analysis of this file, run !analyze -v$/,
  /^Loading Dump File \[/,
  /^Comment: '/,
  /^Live user mode: /,
  /^Kernel time: \d+ days? /,
  /^User time: \d+ days? /,
  /^command line: '/,
  /^(?:dbgeng|dbghelp):\s+image /,
  /^\[path: .*\]$/,
  /^DIA version: \d+$/,
  /^KDTARGET: Refreshing KD connection$/,
];

/** Parse a connect banner, `vertarget` or `version` output. Throws KdParseError when none of it is there. */
export function parseVersion(text: string, kind: VersionKind = 'vertarget'): VersionResult {
  const rawLines = splitLines(text);
  const result: VersionResult = { complete: false, unparsed: [], warnings: [] };
  let versionLine: KernelVersionLine | undefined;
  let buildLab: string | undefined;
  let product: { product: string; suite: string[] } | undefined;
  let fileVersion: string | undefined;
  let recognised = 0;
  let inBox = false;
  let boxText: string[] = [];
  let awaiting: 'symbolPath' | 'extensionPath' | undefined;
  let inExtensionChain = false;
  let seenPrompt = false;
  let stopped = false;
  const entries = joinFragments(rawLines);
  for (let index = 0; index < entries.length; index++) {
    const { text: line } = entries[index];
    if (stopped) {
      result.unparsed.push(line);
      continue;
    }
    const trimmed = line.trim();
    const prompt = matchPrompt(trimmed);
    if (prompt) {
      // The echo of this command is part of it; any later prompt starts another command's output.
      const isOwnEcho = /^(?:vertarget|version)\b/.test(prompt.command) && !seenPrompt;
      seenPrompt = true;
      if (isOwnEcho) continue;
      stopped = true;
      result.unparsed.push(line);
      continue;
    }
    if (trimmed === 'vertarget' || trimmed === 'version') continue;
    if (awaiting && trimmed !== '' && !FIELD_START.test(trimmed) && !parseKernelVersionLine(trimmed) && !/\s{2}|: /.test(trimmed)) {
      if (awaiting === 'symbolPath') result.symbolPath = trimmed;
      recognised++;
      awaiting = undefined;
      continue;
    }
    awaiting = undefined;
    if (isStarRule(trimmed)) {
      // A rule opens a box; the next rule closes it and its text becomes one warning.
      if (inBox && boxText.length > 0) result.warnings.push(boxText.join(' '));
      inBox = !inBox;
      boxText = [];
      recognised++;
      continue;
    }
    if (inBox) {
      const inner = trimmed.replace(/^\*/, '').replace(/\*$/, '').trim();
      if (inner !== '') boxText.push(inner);
      continue;
    }
    if (trimmed === '') continue;
    if (inExtensionChain) {
      const extension = /^(\S+): image ([^,]+),/.exec(trimmed);
      if (extension && /^\s/.test(line)) {
        result.extensions ??= [];
        result.extensions.push({ name: extension[1], image: extension[2] });
        recognised++;
        continue;
      }
      const path = /^\[path: (.*)\]$/.exec(trimmed);
      if (path && result.extensions && result.extensions.length > 0) {
        result.extensions[result.extensions.length - 1].path = path[1];
        recognised++;
        continue;
      }
      inExtensionChain = false;
    }
    const parsedVersion = parseKernelVersionLine(trimmed);
    if (parsedVersion && !versionLine) {
      versionLine = parsedVersion;
      recognised++;
      if (parsedVersion.prefix !== '') result.unparsed.push(line);
      continue;
    }
    const connected = parseConnectedLine(trimmed);
    if (connected) {
      result.connected = connected;
      recognised++;
      continue;
    }
    const debuggerInfo = parseDebuggerLine(trimmed);
    if (debuggerInfo) {
      result.debugger = debuggerInfo;
      recognised++;
      continue;
    }
    let match: RegExpExecArray | null;
    if ((match = /^(?:Built by|Edition build lab): (\S+)/.exec(trimmed))) {
      buildLab = match[1];
    } else if ((match = /^Product: ([^,]+)(?:, suite: (.*))?$/.exec(trimmed))) {
      product = { product: match[1].trim(), suite: (match[2] ?? '').trim().split(/\s+/).filter(Boolean) };
    } else if ((match = /^kernelbase\.dll version: (\d+\.\d+\.\d+\.\d+)/.exec(trimmed))) {
      fileVersion = match[1];
    } else if ((match = /^Machine Name:(.*)$/.exec(trimmed))) {
      const value = match[1].trim();
      result.machineName = value === '""' ? '' : value;
    } else if ((match = /^Kernel base = (0x[0-9a-fA-F`]+)(?: PsLoadedModuleList = (0x[0-9a-fA-F`]+))?/.exec(trimmed))) {
      result.kernelBase = normalizeAddress(match[1]);
      if (match[2]) result.psLoadedModuleList = normalizeAddress(match[2]);
    } else if ((match = /^Debug session time: (.*)$/.exec(trimmed))) {
      result.sessionTime = match[1].trim();
    } else if ((match = /^System Uptime: (.*)$/.exec(trimmed))) {
      const seconds = parseKdDuration(match[1]);
      if (seconds === undefined) {
        result.unparsed.push(line);
        continue;
      }
      result.uptime = seconds;
    } else if ((match = /^Process Uptime: (.*)$/.exec(trimmed))) {
      const seconds = parseKdDuration(match[1]);
      if (seconds !== undefined) result.processUptime = seconds;
    } else if ((match = /^Symbol search path is:(.*)$/.exec(trimmed))) {
      const value = match[1].trim();
      if (value === '') awaiting = 'symbolPath';
      else result.symbolPath = value;
    } else if ((match = /^Executable search path is:(.*)$/.exec(trimmed))) {
      result.executablePath = match[1].trim();
    } else if (/^Extension DLL search Path:$/.test(trimmed)) {
      awaiting = 'extensionPath';
    } else if (/^Extension DLL chain:$/.test(trimmed)) {
      inExtensionChain = true;
    } else if ((match = /^Using (\S+) for debugging$/.exec(trimmed))) {
      result.connection ??= { established: false, initialBreakpoint: false };
      result.connection.transport = match[1].toLowerCase();
    } else if ((match = /^Opened (\\\\\.\\pipe\\\S+)$/.exec(trimmed))) {
      result.connection ??= { established: false, initialBreakpoint: false };
      result.connection.transport = 'pipe';
      result.connection.remote = match[1];
    } else if ((match = /^Connected to target (\S+) on port (\d+)/.exec(trimmed))) {
      result.connection ??= { established: false, initialBreakpoint: false };
      result.connection.remote = `${match[1]}:${match[2]}`;
    } else if (/^Waiting to reconnect(?:\.\.\.|…)$/.test(trimmed)) {
      result.connection ??= { established: false, initialBreakpoint: false };
    } else if (/^Kernel Debugger connection established\./.test(trimmed)) {
      result.connection ??= { established: false, initialBreakpoint: false };
      result.connection.established = true;
      result.connection.initialBreakpoint = /Initial Breakpoint requested/.test(trimmed);
    } else if (KNOWN_NOISE.some((pattern) => pattern.test(trimmed)) || isReloadNoiseLine(trimmed)) {
      // Known kd chatter.
    } else {
      result.unparsed.push(line);
      continue;
    }
    recognised++;
  }
  if (inBox && boxText.length > 0) result.warnings.push(boxText.join(' '));

  // A dump or connect banner ends where the target sits: `nt!KeBugCheckEx:` and its instruction.
  const lastLines = rawLines.filter((line) => line.trim() !== '').slice(-2);
  const tail = result.unparsed.slice(-2);
  if (tail.length === 2 && tail[0] === lastLines[0] && tail[1] === lastLines[1] && isSymbolLabel(tail[0]!)) {
    const instruction = parseInstructionLine(tail[1]!);
    if (instruction) {
      result.unparsed.length -= 2;
      result.location = labelLocation(tail[0]!.trim().slice(0, -1));
      result.instruction = instruction;
    }
  }
  if (versionLine) {
    result.os = buildOs(versionLine, buildLab, product, fileVersion, result.connected);
  } else if (buildLab && /^\d+\./.test(buildLab)) {
    // No version line (a cut banner), but the build lab still gives the build.
    const build = Number(buildLab.split('.')[0]);
    result.os = { version: `${ntVersionForBuild(build)}.${build}`, build, sp: 0, buildLab };
    const arch = archFromBuildLab(buildLab) ?? result.connected?.arch;
    if (arch) setArch(result.os, arch);
  } else if (result.connected) {
    // Only the `Connected to` line survived: its number is still the build.
    const { build, arch, ptr64 } = result.connected;
    result.os = { version: `${ntVersionForBuild(build)}.${build}`, build, sp: 0 };
    if (arch) setArch(result.os, arch);
    else if (ptr64 !== undefined) result.os.pointerSize = ptr64 ? 8 : 4;
  }
  if (!result.os && result.kernelBase === undefined && result.connected === undefined && recognised === 0) {
    throw new KdParseError(kind, `No ${kind} output found: expected a "Windows … Kernel Version …" line or "Kernel base = …"`);
  }
  const hasBase = result.kernelBase !== undefined || (versionLine?.userMode ?? false);
  result.complete = result.os !== undefined && result.os.arch !== undefined && hasBase && !stopped;
  return result;
}

// Arch and pointer size go together.
function setArch(os: ParsedOs, arch: KdArch): void {
  os.arch = arch;
  os.pointerSize = arch === 'x86' ? 4 : 8;
}

// Combine the version line with the build lab, product line and connect line into one OS record.
function buildOs(
  line: KernelVersionLine,
  buildLab: string | undefined,
  product: { product: string; suite: string[] } | undefined,
  fileVersion: string | undefined,
  connected: ConnectedTarget | undefined,
): ParsedOs {
  // The build lab's leading number is the real build; the version line's number is kd's report of it.
  const labBuild = buildLab && /^\d+\./.test(buildLab) ? Number(buildLab.split('.')[0]) : undefined;
  const fileBuild = fileVersion ? Number(fileVersion.split('.')[2]) : undefined;
  const build = labBuild ?? fileBuild ?? line.build;
  const majorMinor = fileVersion ? fileVersion.split('.').slice(0, 2).join('.') : ntVersionForBuild(build);
  const os: ParsedOs = { version: `${majorMinor}.${build}`, build, sp: line.sp, mp: line.mp };
  if (line.processors !== undefined) os.processors = line.processors;
  const arch = line.arch ?? (buildLab ? archFromBuildLab(buildLab) : undefined) ?? connected?.arch;
  if (arch) setArch(os, arch);
  else if (connected?.ptr64 !== undefined) os.pointerSize = connected.ptr64 ? 8 : 4;
  if (product) {
    os.product = product.product;
    os.suite = product.suite;
  }
  if (buildLab) os.buildLab = buildLab;
  if (line.name) os.name = line.name;
  if (line.checked) os.checked = true;
  if (fileVersion) os.fileVersion = fileVersion;
  return os;
}

/** Parse a connect banner (everything kd printed before its first prompt). */
export function parseBanner(text: string): VersionResult {
  return parseVersion(text, 'banner');
}

/** Parse `vertarget` output. */
export function parseVertarget(text: string): VersionResult {
  return parseVersion(text, 'vertarget');
}

/** Parse `version` output (target block, debugger and extension DLL chain). */
export function parseVersionCommand(text: string): VersionResult {
  return parseVersion(text, 'version');
}

/** True when a line belongs to the version block a banner or reconnect prints. */
export function isVersionBlockLine(line: string): boolean {
  const trimmed = line.trim();
  return (
    FIELD_START.test(trimmed) ||
    parseKernelVersionLine(trimmed) !== undefined ||
    KNOWN_NOISE.some((pattern) => pattern.test(trimmed))
  );
}
