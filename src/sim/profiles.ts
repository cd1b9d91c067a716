/**
 * Built-in Windows version profiles of the simulated target: the numbers that differ by
 * version (see ../shared/reference/windows-versions.md, summarised in docs/simulator.md).
 *
 * The console side adds what kd prints for each profile (banner, vertarget, formats of the
 * era) in src/sim/console; this file holds the facts the kernel model needs too.
 */
import type { Arch } from '../core/types.js';

/** Which generation of an extension's output the profile's era prints. */
export type OutputEra = 'old' | 'new';

/** One simulated Windows version and architecture. */
export interface SimProfile {
  id: string;
  /** Human name, e.g. `Windows XP SP3 (x86)`. */
  title: string;
  major: number;
  minor: number;
  build: number;
  sp: number;
  arch: Arch;
  pointerSize: 4 | 8;
  /** Multiprocessor kernel: the prompt is `N: kd> ` instead of `kd> `. */
  mp: boolean;
  processors: number;
  /** Pool tagging on regardless of GlobalFlag (2003 and later). */
  taggingAlwaysOn: boolean;
  /** `classic` pool before 19H1 (build 18362), kernel segment heap from it on. */
  allocator: 'classic' | 'segment-heap';
  /** Drivers of this era call ExAllocatePool2 (build 19041 and later). */
  allocatePool2: boolean;
  /** `!poolused` / `!poolfind` output generation the matching debugger prints. */
  poolusedEra: OutputEra;
  poolfindEra: OutputEra;
  /** Where nt is loaded. */
  kernelBase: bigint;
  /** The `Built by:` / `Edition build lab:` string. */
  buildLab: string;
  /**
   * Where a PoolHitTag match stops (windows-versions.md §3): `dbgbreakpoint` = the tracker calls
   * nt!DbgBreakPoint (WRK, 2000–Vista); `inline` = an `int 3` inside the allocator itself
   * (Win7 x86 transcript: nt!ExAllocatePoolWithTag+0x881; 8.1/10 classic; segment heap in
   * nt!ExAllocateHeapPool/ExFreeHeapPool); `outlined-chunk` = an `int 3` in a cold chunk shown as
   * ``nt! ?? ::FNODOBFM::`string'+0x…`` (Win7 x64).
   */
  poolHitBreak: 'dbgbreakpoint' | 'inline' | 'outlined-chunk';
  /** The kernel image kd names for module `nt` (ntoskrnl.exe, ntkrnlpa.exe, ntkrnlmp.exe, ntkrpamp.exe). */
  kernelImage: string;
}

const profiles: readonly SimProfile[] = [
  {
    id: 'win2000-sp4-x86', title: 'Windows 2000 SP4 (x86)', major: 5, minor: 0, build: 2195, sp: 4,
    arch: 'x86', pointerSize: 4, mp: false, processors: 1, taggingAlwaysOn: false, allocator: 'classic',
    allocatePool2: false, poolusedEra: 'old', poolfindEra: 'old', kernelBase: 0x80400000n,
    buildLab: '2195.sp4.030610-1408',
    poolHitBreak: 'dbgbreakpoint', kernelImage: 'ntoskrnl.exe',
  },
  {
    id: 'winxp-sp3-x86', title: 'Windows XP SP3 (x86)', major: 5, minor: 1, build: 2600, sp: 3,
    arch: 'x86', pointerSize: 4, mp: false, processors: 1, taggingAlwaysOn: false, allocator: 'classic',
    allocatePool2: false, poolusedEra: 'old', poolfindEra: 'old', kernelBase: 0x804d7000n,
    buildLab: '2600.xpsp_sp3_gdr.100216-1514',
    poolHitBreak: 'dbgbreakpoint', kernelImage: 'ntkrnlpa.exe',
  },
  {
    id: 'win2003-sp2-x86', title: 'Windows Server 2003 SP2 (x86)', major: 5, minor: 2, build: 3790, sp: 2,
    arch: 'x86', pointerSize: 4, mp: true, processors: 2, taggingAlwaysOn: true, allocator: 'classic',
    allocatePool2: false, poolusedEra: 'old', poolfindEra: 'old', kernelBase: 0x80800000n,
    buildLab: '3790.srv03_sp2_rtm.070216-1710',
    poolHitBreak: 'dbgbreakpoint', kernelImage: 'ntkrnlmp.exe',
  },
  {
    id: 'win2003-sp2-x64', title: 'Windows Server 2003 SP2 (x64)', major: 5, minor: 2, build: 3790, sp: 2,
    arch: 'x64', pointerSize: 8, mp: true, processors: 2, taggingAlwaysOn: true, allocator: 'classic',
    allocatePool2: false, poolusedEra: 'old', poolfindEra: 'old', kernelBase: 0xfffff80001000000n,
    buildLab: '3790.srv03_sp2_rtm.070216-1710',
    poolHitBreak: 'dbgbreakpoint', kernelImage: 'ntkrnlmp.exe',
  },
  {
    id: 'vista-sp2-x86', title: 'Windows Vista SP2 (x86)', major: 6, minor: 0, build: 6002, sp: 2,
    arch: 'x86', pointerSize: 4, mp: true, processors: 2, taggingAlwaysOn: true, allocator: 'classic',
    allocatePool2: false, poolusedEra: 'old', poolfindEra: 'old', kernelBase: 0x81800000n,
    buildLab: '6002.18005.x86fre.lh_sp2rtm.090410-1830',
    poolHitBreak: 'dbgbreakpoint', kernelImage: 'ntkrpamp.exe',
  },
  {
    id: 'win7-sp1-x86', title: 'Windows 7 SP1 (x86)', major: 6, minor: 1, build: 7601, sp: 1,
    arch: 'x86', pointerSize: 4, mp: false, processors: 1, taggingAlwaysOn: true, allocator: 'classic',
    allocatePool2: false, poolusedEra: 'new', poolfindEra: 'old', kernelBase: 0x82a0b000n,
    buildLab: '7601.17514.x86fre.win7sp1_rtm.101119-1850',
    poolHitBreak: 'inline', kernelImage: 'ntkrnlpa.exe',
  },
  {
    id: 'win7-sp1-x64', title: 'Windows 7 SP1 (x64)', major: 6, minor: 1, build: 7601, sp: 1,
    arch: 'x64', pointerSize: 8, mp: false, processors: 1, taggingAlwaysOn: true, allocator: 'classic',
    allocatePool2: false, poolusedEra: 'new', poolfindEra: 'old', kernelBase: 0xfffff80002a4b000n,
    buildLab: '7601.17514.amd64fre.win7sp1_rtm.101119-1850',
    poolHitBreak: 'outlined-chunk', kernelImage: 'ntoskrnl.exe',
  },
  {
    id: 'win81-x64', title: 'Windows 8.1 (x64)', major: 6, minor: 3, build: 9600, sp: 0,
    arch: 'x64', pointerSize: 8, mp: true, processors: 2, taggingAlwaysOn: true, allocator: 'classic',
    allocatePool2: false, poolusedEra: 'new', poolfindEra: 'new', kernelBase: 0xfffff80122e00000n,
    buildLab: '9600.17736.amd64fre.winblue_r9.150322-1500',
    poolHitBreak: 'inline', kernelImage: 'ntkrnlmp.exe',
  },
  {
    id: 'win10-1607-x64', title: 'Windows 10 1607 (x64)', major: 10, minor: 0, build: 14393, sp: 0,
    arch: 'x64', pointerSize: 8, mp: true, processors: 2, taggingAlwaysOn: true, allocator: 'classic',
    allocatePool2: false, poolusedEra: 'new', poolfindEra: 'new', kernelBase: 0xfffff80275a00000n,
    buildLab: '14393.0.amd64fre.rs1_release.160715-1616',
    poolHitBreak: 'inline', kernelImage: 'ntkrnlmp.exe',
  },
  {
    id: 'win10-1809-x64', title: 'Windows 10 1809 (x64)', major: 10, minor: 0, build: 17763, sp: 0,
    arch: 'x64', pointerSize: 8, mp: true, processors: 2, taggingAlwaysOn: true, allocator: 'classic',
    allocatePool2: false, poolusedEra: 'new', poolfindEra: 'new', kernelBase: 0xfffff8030a000000n,
    buildLab: '17763.1.amd64fre.rs5_release.180914-1434',
    poolHitBreak: 'inline', kernelImage: 'ntkrnlmp.exe',
  },
  {
    id: 'win10-22h2-x64', title: 'Windows 10 22H2 (x64)', major: 10, minor: 0, build: 19045, sp: 0,
    arch: 'x64', pointerSize: 8, mp: true, processors: 4, taggingAlwaysOn: true, allocator: 'segment-heap',
    allocatePool2: true, poolusedEra: 'new', poolfindEra: 'new', kernelBase: 0xfffff80122000000n,
    buildLab: '19041.1.amd64fre.vb_release.191206-1406',
    poolHitBreak: 'inline', kernelImage: 'ntkrnlmp.exe',
  },
  {
    id: 'win11-23h2-x64', title: 'Windows 11 23H2 (x64)', major: 10, minor: 0, build: 22631, sp: 0,
    arch: 'x64', pointerSize: 8, mp: true, processors: 4, taggingAlwaysOn: true, allocator: 'segment-heap',
    allocatePool2: true, poolusedEra: 'new', poolfindEra: 'new', kernelBase: 0xfffff80574800000n,
    buildLab: '22621.1.amd64fre.ni_release.220506-1250',
    poolHitBreak: 'inline', kernelImage: 'ntkrnlmp.exe',
  },
  {
    id: 'win11-24h2-x64', title: 'Windows 11 24H2 (x64)', major: 10, minor: 0, build: 26100, sp: 0,
    arch: 'x64', pointerSize: 8, mp: true, processors: 4, taggingAlwaysOn: true, allocator: 'segment-heap',
    allocatePool2: true, poolusedEra: 'new', poolfindEra: 'new', kernelBase: 0xfffff80360a00000n,
    buildLab: '26100.1.amd64fre.ge_release.240331-1435',
    poolHitBreak: 'inline', kernelImage: 'ntkrnlmp.exe',
  },
];

/** Every built-in profile, oldest first. */
export function listProfiles(): readonly SimProfile[] {
  return profiles;
}

/** The profile with this id, or undefined. */
export function findProfile(id: string): SimProfile | undefined {
  return profiles.find((profile) => profile.id === id);
}
