/**
 * Facts about the connected target, from the connect banner and `vertarget`, cross-checked with
 * `dd nt!NtBuildNumber L1` where kd's label and the build disagree (kd calls Windows 11
 * "Windows 10" and has called a 19041 target "Windows 8"). They drive provider selection.
 *
 * @see ../../docs/targets.md
 */
import type { Arch, DebuggerSession, Facts, OsFacts, TargetFacts } from '../core/types.js';
import { aliasForVersion } from '../core/versions.js';
import { parseGflag } from '../kd/global-flags.js';
import { parseDd } from '../kd/memory.js';
import { ntVersionForBuild, parseBanner, parseVertarget, type ParsedOs, type VersionResult } from '../kd/version.js';
import { parseKdError } from '../kd/errors.js';
import { DebuggerError } from './errors.js';
import { redactSecrets } from './redact.js';

/** What connect knows about the target besides the debugger's answers. */
export interface TargetDescription {
  kind: string;
  spec: string;
  hostChannel?: string;
}

/** The `ptg` bit of NtGlobalFlag / GlobalFlag: pool tagging on 2000 and XP. */
export const poolTaggingFlag = 0x400;
/** From this build on, pool tagging is always on (Server 2003, XP x64). */
export const alwaysTaggedBuild = 3790;
/** From this build on, the kernel pool is the segment heap (Windows 10 1903). */
export const segmentHeapBuild = 18362;

// kd's marketing label → NT major.minor it implies (labels kd prints that are known to lie are cross-checked).
const labelVersions: ReadonlyArray<[RegExp, string]> = [
  [/^Windows 2000\b/, '5.0'],
  [/^Windows XP\b/, '5.1'],
  [/^Windows Server 2003\b/, '5.2'],
  [/^Windows Vista\b/, '6.0'],
  [/^Windows 7\b/, '6.1'],
  [/^Windows 8\.1\b/, '6.3'],
  [/^Windows 8\b/, '6.2'],
  [/^Windows 10\b/, '10.0'],
];

// Parse without throwing: a banner may hold no version block at all.
function tryParse(parse: (text: string) => VersionResult, text: string): VersionResult | undefined {
  try {
    return parse(text);
  } catch {
    return undefined;
  }
}

// The leading build number of a build-lab string (`19041.1.amd64fre…` → 19041).
function buildOfLab(buildLab: string | undefined): number | undefined {
  const match = buildLab ? /^(\d{4,5})\./.exec(buildLab) : null;
  return match ? Number(match[1]) : undefined;
}

// True when kd's label names another NT version than the build, or the sources name different builds.
function needsCrossCheck(os: ParsedOs, banner: VersionResult | undefined): boolean {
  const builds = new Set([os.build, buildOfLab(os.buildLab), banner?.os?.build, banner?.connected?.build].filter((b): b is number => b !== undefined));
  if (builds.size > 1) return true;
  const label = os.name ?? banner?.connected?.name;
  const implied = label ? labelVersions.find(([pattern]) => pattern.test(label))?.[1] : undefined;
  return implied !== undefined && implied !== ntVersionForBuild(os.build);
}

// `dd nt!NtBuildNumber L1` → build (low 16 bits) and whether the kernel is a free build (top nibble F).
async function readNtBuildNumber(session: DebuggerSession): Promise<{ build: number; free: boolean } | undefined> {
  const result = await session.execute('dd nt!NtBuildNumber L1');
  if (!result.complete || parseKdError(result.output)) return undefined;
  try {
    const value = parseDd(result.output).values?.[0];
    if (value === undefined) return undefined;
    const number = Number.parseInt(value, 16);
    return { build: number & 0xffff, free: (number >>> 28) === 0xf };
  } catch {
    return undefined;
  }
}

// Pool tagging on 2000/XP: `!gflag` (or NtGlobalFlag read directly) has 0x400 set.
async function readTaggingFlag(session: DebuggerSession): Promise<boolean> {
  const gflag = await session.execute('!gflag');
  if (gflag.complete && !parseKdError(gflag.output)) {
    try {
      const parsed = parseGflag(gflag.output);
      if (parsed.value !== undefined) return (parsed.value & poolTaggingFlag) !== 0;
    } catch {
      // Fall back to reading the variable.
    }
  }
  const dd = await session.execute('dd nt!NtGlobalFlag L1');
  if (!dd.complete || parseKdError(dd.output)) return false;
  try {
    const value = parseDd(dd.output).values?.[0];
    return value !== undefined && (Number.parseInt(value, 16) & poolTaggingFlag) !== 0;
  } catch {
    return false;
  }
}

// kd's `Debug session time: Wed Feb 28 17:16:23.816 2018 (UTC - 8:00)` as epoch milliseconds.
export function parseSessionTime(text: string): number | undefined {
  const match = /^\w{3} (\w{3})\s+(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))? (\d{4})(?: \(UTC ([+-]) (\d{1,2}):(\d{2})\))?/.exec(text.trim());
  if (!match) return undefined;
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].indexOf(match[1]!);
  if (month < 0) return undefined;
  const local = Date.UTC(Number(match[7]), month, Number(match[2]), Number(match[3]), Number(match[4]), Number(match[5]), Number((match[6] ?? '0').padEnd(3, '0')));
  const offset = match[8] ? (match[8] === '-' ? -1 : 1) * (Number(match[9]) * 60 + Number(match[10])) * 60_000 : 0;
  return local - offset;
}

/** Gather facts from the session's banner and `vertarget` (the target must be halted). */
export async function gatherFacts(session: DebuggerSession, target: TargetDescription): Promise<Facts> {
  if (session.running) throw new DebuggerError('TARGET_RUNNING', 'Cannot gather facts: the target is running', { hint: 'break in first' });
  const banner = session.banner ? tryParse(parseBanner, session.banner) : undefined;
  const vertargetResult = await session.execute('vertarget');
  const vertarget = tryParse(parseVertarget, vertargetResult.output);
  const parsed = vertarget?.os ?? banner?.os;
  if (!parsed) {
    throw new DebuggerError('FACTS_UNAVAILABLE', 'Neither the connect banner nor "vertarget" named the Windows version', { output: vertargetResult.output, hint: 'is this a kernel debugger (kd -k …) connected to a target?' });
  }
  let build = parsed.build;
  let crossChecked: { build: number; free: boolean } | undefined;
  if (needsCrossCheck(parsed, banner)) {
    crossChecked = await readNtBuildNumber(session);
    if (crossChecked) build = crossChecked.build;
  }
  const version = `${ntVersionForBuild(build)}.${build}`;
  const arch: Arch = parsed.arch ?? banner?.os?.arch ?? banner?.connected?.arch ?? (banner?.connected?.ptr64 ? 'x64' : 'x86');
  const os: OsFacts = {
    version,
    alias: aliasForVersion(version),
    build,
    sp: parsed.sp,
    arch,
    pointerSize: parsed.pointerSize ?? (arch === 'x86' ? 4 : 8),
    mp: parsed.mp ?? (parsed.processors !== undefined ? parsed.processors > 1 : false),
    processors: parsed.processors ?? 1,
    ...(parsed.product !== undefined && { product: parsed.product }),
    ...(parsed.buildLab !== undefined && { buildLab: parsed.buildLab }),
  };
  const taggingEnabled = build >= alwaysTaggedBuild ? true : await readTaggingFlag(session);
  const sessionTime = vertarget?.sessionTime ?? banner?.sessionTime;
  const uptime = vertarget?.uptime ?? banner?.uptime;
  const sessionMs = sessionTime !== undefined ? parseSessionTime(sessionTime) : undefined;
  const targetFacts: TargetFacts = {
    kind: target.kind,
    spec: redactSecrets(target.spec),
    ...(target.hostChannel !== undefined && { hostChannel: target.hostChannel }),
    ...(sessionMs !== undefined && uptime !== undefined && { bootTimeMs: Math.round(sessionMs - uptime * 1000) }),
  };
  return {
    os,
    pool: { taggingEnabled, allocator: build >= segmentHeapBuild ? 'segment-heap' : 'classic' },
    debugger: { transport: session.transport, ...(banner?.debugger?.version !== undefined && { version: banner.debugger.version }) },
    target: targetFacts,
    ...(crossChecked && { kd: { ntBuildNumber: crossChecked } }),
  };
}
