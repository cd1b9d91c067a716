/**
 * Parse `.reload` output: mostly noise (progress dots, loading phases), but it also says which
 * images had unreadable headers and which symbols failed to load, which decides whether `nt`
 * symbols (and so `nt!PoolHitTag`) can be trusted.
 */
import { KdParseError, normalizeAddress, splitLines, type ParseResultBase } from './common.js';
import { matchPrompt } from './prompt.js';
import {
  ntVersionForBuild,
  parseConnectedLine,
  parseKernelVersionLine,
  type ConnectedTarget,
  type ParsedOs,
} from './version.js';

/** A symbol-loading problem kd reported with `*** ERROR:` or `*** WARNING:`. */
export interface SymbolProblem {
  severity: 'error' | 'warning';
  /** The image the problem is about, when kd names one (`ntkrnlmp.exe`, `LiveKdD.SYS`). */
  module?: string;
  message: string;
}

/** `Unable to read image header for dmload.sys at fe0be000 - NTSTATUS 0xC0000001` */
export interface ImageHeaderFailure {
  module: string;
  address: string;
  status: string;
}

/** Result of `.reload`. */
export interface ReloadResult extends ParseResultBase {
  /** The `Connected to Windows …` line `.reload` reprints. */
  connected?: ConnectedTarget;
  /** Loading phases in the order kd announced them. */
  phases: ('kernel' | 'user' | 'unloaded')[];
  imageHeaderFailures: ImageHeaderFailure[];
  symbolProblems: SymbolProblem[];
  /** Other `Unable to …` messages (PEB address, unloaded module list), joined across wrapped lines. */
  notes: string[];
  /** `.reload nt` reprints `Kernel Version …` and `Kernel base = …`. */
  os?: Pick<ParsedOs, 'version' | 'build' | 'sp' | 'mp' | 'processors' | 'checked' | 'arch' | 'pointerSize'>;
  kernelBase?: string;
  /** Lines from `!sym noisy` (`DBGHELP: …`), kept for diagnostics. */
  dbghelp: string[];
}

const PHASES: Readonly<Record<string, 'kernel' | 'user' | 'unloaded'>> = {
  'Loading Kernel Symbols': 'kernel',
  'Loading User Symbols': 'user',
  'Loading unloaded module list': 'unloaded',
};

// `..........Unable to read …`: progress dots may share a line with the next message.
function stripDots(trimmed: string): string {
  let index = 0;
  while (index < trimmed.length && trimmed.charCodeAt(index) === 46) index++;
  return trimmed.slice(index);
}

/** True for a line `.reload` (or a banner's symbol load) prints that carries no data. */
export function isReloadNoiseLine(line: string): boolean {
  const trimmed = line.trim();
  // A phase starts with `L`, dots with `.`, the messages with `U`: other lines are not noise.
  const lead = trimmed.charCodeAt(0);
  if (lead !== 46 && lead !== 76 && lead !== 85) return false;
  if (trimmed in PHASES) return true;
  if (trimmed !== '' && stripDots(trimmed) === '') return true;
  const rest = stripDots(trimmed);
  return /^Unable to (?:enumerate user-mode unloaded modules|read image header for )/.test(rest);
}

/** Parse a `*** ERROR: …` / `*** WARNING: …` symbol line anywhere in a line. */
export function parseSymbolProblem(line: string): SymbolProblem | undefined {
  const at = line.indexOf('*** ');
  if (at < 0) return undefined;
  const match = /^\*\*\* (ERROR|WARNING): (.*)$/.exec(line.slice(at).trimEnd());
  if (!match) return undefined;
  const problem: SymbolProblem = { severity: match[1] === 'ERROR' ? 'error' : 'warning', message: match[2] };
  const module = /\b(?:for|to export symbols for) ([^\s]+?)(?: -)?$/.exec(match[2]);
  if (module) problem.module = module[1].replace(/^.*\\/, '');
  return problem;
}

/** Parse `.reload` output. Throws KdParseError when nothing in it is `.reload` output. */
export function parseReload(text: string): ReloadResult {
  const lines = splitLines(text);
  const result: ReloadResult = {
    complete: true,
    unparsed: [],
    phases: [],
    imageHeaderFailures: [],
    symbolProblems: [],
    notes: [],
    dbghelp: [],
  };
  let recognised = 0;
  let openNote = -1;
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed === '') {
      openNote = -1;
      continue;
    }
    const prompt = matchPrompt(trimmed);
    if (prompt) {
      if (!/^\.reload\b/.test(prompt.command)) result.unparsed.push(line);
      openNote = -1;
      continue;
    }
    const rest = stripDots(trimmed);
    let match: RegExpExecArray | null;
    if (rest === '') {
      recognised++;
      continue;
    }
    if (rest in PHASES) {
      result.phases.push(PHASES[rest]);
    } else if ((match = /^Unable to read image header for (\S+) at ([0-9a-fA-F`]+) - NTSTATUS (0x[0-9a-fA-F]+)$/.exec(rest))) {
      result.imageHeaderFailures.push({ module: match[1], address: normalizeAddress(match[2]), status: match[3] });
    } else if (/^Unable to /.test(rest)) {
      result.notes.push(rest);
      openNote = result.notes.length - 1;
      recognised++;
      continue;
    } else if (parseSymbolProblem(trimmed)) {
      result.symbolProblems.push(parseSymbolProblem(trimmed)!);
    } else if (parseConnectedLine(trimmed)) {
      result.connected = parseConnectedLine(trimmed);
    } else if (/^DBGHELP: /.test(trimmed)) {
      result.dbghelp.push(trimmed);
    } else if ((match = /^Kernel base = (0x[0-9a-fA-F`]+)/.exec(trimmed))) {
      result.kernelBase = normalizeAddress(match[1]);
    } else if (parseKernelVersionLine(trimmed)) {
      const version = parseKernelVersionLine(trimmed)!;
      const os: NonNullable<ReloadResult['os']> = {
        version: `${ntVersionForBuild(version.build)}.${version.build}`,
        build: version.build,
        sp: version.sp,
        mp: version.mp,
      };
      if (version.processors !== undefined) os.processors = version.processors;
      if (version.checked) os.checked = true;
      if (version.arch) {
        os.arch = version.arch;
        os.pointerSize = version.arch === 'x86' ? 4 : 8;
      }
      result.os = os;
      if (version.prefix !== '' || version.name === undefined) {
        // Understood only in part: keep the line visible.
        if (version.prefix !== '') result.unparsed.push(line);
      }
    } else if (openNote >= 0 && /^[a-z]/.test(trimmed)) {
      // kd wraps long `Unable to …` messages onto lowercase continuation lines.
      result.notes[openNote] = `${result.notes[openNote]} ${trimmed}`;
      recognised++;
      continue;
    } else {
      result.unparsed.push(line);
      openNote = -1;
      continue;
    }
    openNote = -1;
    recognised++;
  }
  if (recognised === 0) throw new KdParseError('reload', 'No .reload output found: expected "Loading Kernel Symbols" or symbol messages');
  // A message kd wrapped and the capture cut mid-sentence (no final period) is incomplete.
  const lastNote = result.notes[result.notes.length - 1];
  if (lastNote !== undefined && lines.length > 0 && result.notes.length > 0 && !/[.)]$/.test(lastNote) && lastLineIsNote(lines, lastNote)) {
    result.complete = false;
  }
  return result;
}

// True when the text ends inside the last note (nothing else came after it).
function lastLineIsNote(lines: readonly string[], note: string): boolean {
  for (let index = lines.length - 1; index >= 0; index--) {
    const trimmed = lines[index].trim();
    if (trimmed === '') continue;
    return note.endsWith(trimmed);
  }
  return false;
}
