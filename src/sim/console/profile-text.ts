/**
 * What kd prints about the target for each simulated Windows profile: the version label with
 * kd's naming quirks, the `vertarget` block, the connect banner, the prompt and the debugger
 * generation (Debugging Tools 6.12 for 2000–Vista targets, a current kd for Windows 7 and later).
 *
 * Shapes follow test/fixtures/kd: banner-win10-x64-1.txt, vertarget-win7-x64-1.txt,
 * vertarget-winxp-x86-1.txt, vertarget-win10-x64-1.txt, reload-winxp-x86-3.txt, gflag-win10-x64-1.txt.
 */
import { formatAddress } from '../../kd/common.js';
import type { SimProfile } from '../profiles.js';

/** Which generation of kd prints the session: 6.12 (legacy targets) or a current 10.0 kd. */
export type DebuggerGeneration = 'legacy' | 'modern';

/** The kd generation that goes with a profile (the one the profile's `!poolused` era implies). */
export function debuggerGeneration(profile: SimProfile): DebuggerGeneration {
  return profile.poolusedEra === 'old' ? 'legacy' : 'modern';
}

/** The `Microsoft (R) Windows Debugger Version …` line for the profile's kd generation. */
export function debuggerVersionLine(profile: SimProfile): string {
  return debuggerGeneration(profile) === 'legacy'
    ? 'Microsoft (R) Windows Debugger Version 6.12.0002.633 AMD64'
    : 'Microsoft (R) Windows Debugger Version 10.0.22621.2428 AMD64';
}

/**
 * The product label kd prints before "Kernel Version": Windows 11 is "Windows 10" (kd names
 * by the 10.0 version), 8.1 is "Windows 8.1" in vertarget. Server 2003 and Vista SP2 labels
 * have no public transcript (windows-versions.md §1.2 marks them [U]); the forms below follow
 * the closest real ones.
 */
export function vertargetLabel(profile: SimProfile): string {
  const version = `${profile.major}.${profile.minor}`;
  switch (version) {
    case '5.0': return 'Windows 2000';
    case '5.1': return 'Windows XP';
    case '5.2': return 'Windows Server 2003';
    case '6.0': return profile.sp > 0 ? 'Windows Server 2008/Windows Vista' : 'Windows Vista';
    case '6.1': return 'Windows 7';
    case '6.2': return 'Windows 8';
    case '6.3': return 'Windows 8.1';
    default: return 'Windows 10';
  }
}

/**
 * The label of the `Connected to Windows <label> <build> …` line. kd shortens it to the
 * family: 8.1 shows as "Windows 8 9600" (captured in windows-versions.md §1.2, S-VMPIPE),
 * Windows 11 as "Windows 10 22631".
 */
export function connectLabel(profile: SimProfile): string {
  const label = vertargetLabel(profile);
  if (label === 'Windows 8.1') return 'Windows 8';
  if (label === 'Windows Server 2008/Windows Vista') return 'Windows Vista';
  return label;
}

/** `x86 compatible` or `x64`, as kd names the architecture. */
export function archLabel(profile: SimProfile): string {
  return profile.arch === 'x86' ? 'x86 compatible' : profile.arch === 'x64' ? 'x64' : 'ARM 64-bit (AArch64)';
}

/** The prompt: `kd> ` on a uniprocessor profile, `N: kd> ` on a multiprocessor one. */
export function promptText(profile: SimProfile, processor = 0): string {
  return profile.mp ? `${processor}: kd> ` : 'kd> ';
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A time as kd prints it: `Thu Sep  6 05:58:23.656 2012 (UTC + 0:00)` (day padded with a space). */
export function formatKdTime(epochMs: number): string {
  const date = new Date(epochMs);
  const day = String(date.getUTCDate()).padStart(2, ' ');
  const clock = [date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()]
    .map((part) => String(part).padStart(2, '0'))
    .join(':');
  const millis = String(date.getUTCMilliseconds()).padStart(3, '0');
  return `${DAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${day} ${clock}.${millis} ${date.getUTCFullYear()} (UTC + 0:00)`;
}

/** An uptime as kd prints it: `0 days 17:45:57.225` (hours unpadded). */
export function formatUptime(uptimeMs: number): string {
  const whole = Math.max(0, Math.floor(uptimeMs));
  const days = Math.floor(whole / 86_400_000);
  const hours = Math.floor((whole % 86_400_000) / 3_600_000);
  const minutes = Math.floor((whole % 3_600_000) / 60_000);
  const seconds = Math.floor((whole % 60_000) / 1000);
  const millis = whole % 1000;
  const two = (value: number) => String(value).padStart(2, '0');
  return `${days} days ${hours}:${two(minutes)}:${two(seconds)}.${String(millis).padStart(3, '0')}`;
}

/** Where the target's clocks stand, for the banner, `vertarget` and the reboot text. */
export interface TargetClock {
  bootEpochMs: number;
  uptimeMs: number;
}

/** The `Connected to Windows … target at (…), ptr64 TRUE|FALSE` line. */
export function connectedLine(profile: SimProfile, clock: TargetClock): string {
  const ptr64 = profile.pointerSize === 8 ? 'TRUE' : 'FALSE';
  return `Connected to ${connectLabel(profile)} ${profile.build} ${archLabel(profile)} target at (${formatKdTime(clock.bootEpochMs + clock.uptimeMs)}), ptr64 ${ptr64}`;
}

/** `Kernel base = 0x804d7000 PsLoadedModuleList = 0x80554040` with the profile's address format. */
function kernelBaseLine(profile: SimProfile): string {
  const moduleList = profile.kernelBase + (profile.pointerSize === 8 ? 0x3c2a2b0n : 0x7d040n);
  const hex = (value: bigint) => `0x${formatAddress(value, profile.pointerSize)}`;
  return `Kernel base = ${hex(profile.kernelBase)} PsLoadedModuleList = ${hex(moduleList)}`;
}

/**
 * The `vertarget` block (also the head of `version` and of the connect banner): first line
 * `Windows XP Kernel Version 2600 (Service Pack 3) UP Free x86 compatible`, `Built by:` before
 * 19H1 and `Edition build lab:` from it (vertarget-win10-x64-1.txt).
 */
export function vertargetLines(profile: SimProfile, clock: TargetClock): string[] {
  const servicePack = profile.sp > 0 ? ` (Service Pack ${profile.sp})` : '';
  const processors = profile.mp ? `MP (${profile.processors} procs)` : 'UP';
  const labLabel = profile.build >= 18362 ? 'Edition build lab:' : 'Built by:';
  return [
    `${vertargetLabel(profile)} Kernel Version ${profile.build}${servicePack} ${processors} Free ${archLabel(profile)}`,
    'Product: WinNt, suite: TerminalServer SingleUserTS',
    `${labLabel} ${profile.buildLab}`,
    'Machine Name:',
    kernelBaseLine(profile),
    `Debug session time: ${formatKdTime(clock.bootEpochMs + clock.uptimeMs)}`,
    `System Uptime: ${formatUptime(clock.uptimeMs)}`,
  ];
}

/** The transport lines kd prints before connecting: the simulator stands behind a VM named pipe. */
export function transportLines(): string[] {
  return ['Opened \\\\.\\pipe\\leakhunt-sim', 'Waiting to reconnect...'];
}

/**
 * The whole connect banner up to the initial break: debugger version, transport, the
 * Connected line, `Kernel Debugger connection established.` and the vertarget block
 * (banner-win10-x64-1.txt).
 */
export function connectBannerLines(profile: SimProfile, clock: TargetClock, initialBreak: boolean): string[] {
  return [
    debuggerVersionLine(profile),
    'Copyright (c) Microsoft Corporation. All rights reserved.',
    '',
    ...transportLines(),
    ...reconnectLines(profile, clock, initialBreak),
  ];
}

/** What kd prints when the target (re)connects: the Connected line, symbol paths and vertarget. */
export function reconnectLines(profile: SimProfile, clock: TargetClock, initialBreak: boolean): string[] {
  return [
    connectedLine(profile, clock),
    initialBreak
      ? 'Kernel Debugger connection established.  (Initial Breakpoint requested)'
      : 'Kernel Debugger connection established.',
    'Symbol search path is: srv*',
    'Executable search path is: ',
    ...vertargetLines(profile, clock),
  ];
}

/** The `Shutdown occurred at (…)...unloading all symbol tables.` line of a reboot (gflag-win10-x64-1.txt). */
export function shutdownLine(epochMs: number): string {
  return `Shutdown occurred at (${formatKdTime(epochMs)})...unloading all symbol tables.`;
}

/**
 * The `version` command: the vertarget block, then the debugger and extension chain
 * (version-win7-x64-1.txt; in kernel mode the chain lists kdexts).
 */
export function versionLines(profile: SimProfile, clock: TargetClock): string[] {
  const legacy = debuggerGeneration(profile) === 'legacy';
  const image = legacy ? '6.12.0002.633' : '10.0.22621.2428';
  const built = legacy ? 'Mon Feb 01 20:08:31 2010' : 'Thu Sep 28 00:56:05 2023';
  const root = legacy ? 'C:\\Program Files\\Debugging Tools for Windows (x64)' : 'C:\\Program Files (x86)\\Windows Kits\\10\\Debuggers\\x64';
  const extensionDir = profile.major === 5 && profile.minor === 0 ? 'w2kfre' : 'WINXP';
  return [
    ...vertargetLines(profile, clock),
    '',
    debuggerVersionLine(profile),
    'Copyright (c) Microsoft Corporation. All rights reserved.',
    '',
    `command line: 'kd -k com:pipe,port=\\\\.\\pipe\\leakhunt-sim,resets=0,reconnect'  Debugger Process 0x1F4 `,
    `dbgeng:  image ${image}, built ${built}`,
    `        [path: ${root}\\dbgeng.dll]`,
    `dbghelp: image ${image}, built ${built}`,
    `        [path: ${root}\\dbghelp.dll]`,
    '        DIA version: 40116',
    'Extension DLL search Path:',
    `    ${root}\\${extensionDir};${root}\\winext;${root}`,
    'Extension DLL chain:',
    `    dbghelp: image ${image}, API 6.3.6, built ${built}`,
    `        [path: ${root}\\dbghelp.dll]`,
    `    ext: image ${image}, API 1.0.0, built ${built}`,
    `        [path: ${root}\\winext\\ext.dll]`,
    `    exts: image ${image}, API 1.0.0, built ${built}`,
    `        [path: ${root}\\${extensionDir}\\exts.dll]`,
    `    kext: image ${image}, API 1.0.0, built ${built}`,
    `        [path: ${root}\\winext\\kext.dll]`,
    `    kdexts: image ${image}, API 1.0.0, built ${built}`,
    `        [path: ${root}\\${extensionDir}\\kdexts.dll]`,
  ];
}
