/**
 * Parse what kd prints when the target stops: `Break instruction exception - code 80000003
 * (first chance)`, `Breakpoint N hit`, bugchecks (`*** Fatal System Error: 0x…` plus its
 * arguments), the Ctrl+C box, steps, and the reboot/reconnect banners, each followed by the
 * `module!Function+0x1a:` location line and the instruction line where the target sits.
 */
import { KdParseError, splitLines, type ParseResultBase } from './common.js';
import { isSymbolLabel, labelLocation, parseInstructionLine, type Instruction, type StopLocation } from './disasm.js';
import { matchPrompt } from './prompt.js';
import { isReloadNoiseLine } from './reload.js';
import { isVersionBlockLine, parseConnectedLine, parseVersion, type ConnectedTarget, type ParsedOs } from './version.js';

/** Why the target stopped. */
export type StopKind =
  /** `Break instruction exception - code 80000003` (int 3: PoolHitTag, DbgBreakPoint) or `Breakpoint N hit`. */
  | 'breakpoint'
  /** A break-in the user asked for (Ctrl+C box, `.breakin`). */
  | 'break-in'
  /** A stop after `t`/`p`: only the location and instruction. */
  | 'step'
  /** `*** Fatal System Error` or `.bugcheck`. */
  | 'bugcheck'
  /** Reboot and reconnect banners. */
  | 'reconnect'
  /** Any other `<name> - code XXXXXXXX (first|second chance)` exception. */
  | 'exception';

export type { StopLocation } from './disasm.js';

/** One stop of the target. */
export interface StopEvent {
  kind: StopKind;
  /** 1-based line where the event starts in the text given. */
  line: number;
  /** Exception code as 8 lowercase hex digits (`80000003`). */
  code?: string;
  /** Exception name before ` - code` (`Break instruction exception`). */
  exception?: string;
  firstChance?: boolean;
  /** `Breakpoint N hit`. */
  breakpoint?: number;
  location?: StopLocation;
  instruction?: Instruction;
  /** Bugcheck code and arguments (arguments as lowercase hex strings: 64-bit values do not fit a JSON number). */
  bugcheck?: { code: number; args: string[] };
  /** Register values of a register dump printed with the stop (`eax` → `00000000`). */
  registers?: Record<string, string>;
  /** Reboot and reconnect details. */
  reconnect?: {
    shutdownAt?: string;
    waiting: boolean;
    connected?: ConnectedTarget;
    established: boolean;
    os?: ParsedOs;
    kernelBase?: string;
  };
}

/** Result of parsing break output. */
export interface BreakResult extends ParseResultBase {
  events: StopEvent[];
}

/** Options for parseBreak. */
export interface BreakOptions {
  /** The go-class command that led to this output (`g`, `t`, `.breakin`); refines the kind of a bare stop. */
  command?: string;
}

// Go-class commands whose output is stops; output of any other command is not break output.
const GO_COMMAND = /^(?:g|gu|gh|gn|p|pa|pc|t|ta|tc|\.reboot|\.breakin|\.restart)\b|^$/;

// `eax=00000000 ebx=00d81eb0 …` and `rax=… rbx=…`: every word is `name=hex`.
function parseRegisterLine(trimmed: string): Record<string, string> | undefined {
  // The first word must be `name=…` with a 2–4 letter name; most lines fail on that alone.
  const firstEquals = trimmed.indexOf('=');
  if (firstEquals < 2 || firstEquals > 4) return undefined;
  const words = trimmed.split(/\s+/);
  const registers: Record<string, string> = {};
  for (const word of words) {
    // x86 dumps end the eip line with `iopl=0  nv up ei …` (flag mnemonics, not registers).
    if (word.startsWith('iopl=')) return Object.keys(registers).length > 0 ? registers : undefined;
    const equals = word.indexOf('=');
    if (equals < 2 || equals > 4) return undefined;
    const name = word.slice(0, equals);
    const value = word.slice(equals + 1);
    if (!/^[a-z][a-z0-9]{1,3}$/.test(name) || !/^[0-9a-f]+$/.test(value)) return undefined;
    registers[name] = value;
  }
  return registers;
}

// Bugcheck follow-up and other chatter printed around a stop.
const STOP_NOISE: readonly RegExp[] = [
  /^A fatal system error has occurred\.$/,
  /^Debugger entered on first try; Bugcheck callbacks have (?:not )?been invoked\.$/,
  /^For analysis of this file, run !analyze -v$/,
  /^KDTARGET: Refreshing KD connection$/,
  /^Symbol search path is:/,
  /^Executable search path is:/,
  /^\*+ Path validation summary \*+$/,
  /^Response\s+Time \(ms\)\s+Location$/,
  /^(?:Deferred|OK)\s+\S/,
];

// First characters of the STOP_NOISE lines.
const STOP_NOISE_LEADS = 'ADFKSE*RO';

/** Parse the output kd prints when the target stops. Throws KdParseError when there is no stop in it. */
export function parseBreak(text: string, options: BreakOptions = {}): BreakResult {
  const result = tryParseBreak(text, options);
  if (!result) throw new KdParseError('break', NO_STOP_MESSAGE);
  return result;
}

/** Why parseBreak rejects text: the KdParseError message when no stop is found. */
export const NO_STOP_MESSAGE = 'No stop found: expected "Break instruction exception", "Breakpoint N hit", a bugcheck, a reconnect banner or a location line';

/** parseBreak without the exception: undefined where parseBreak throws (parseAuto meets many such outputs). */
export function tryParseBreak(text: string, options: BreakOptions = {}): BreakResult | undefined {
  const result: BreakResult = { complete: true, unparsed: [], events: [] };
  const lines = splitLines(text);
  let command = options.command?.trim();
  let current: StopEvent | undefined;
  let versionBlock: string[] = [];
  let inBox = false;
  let boxText = '';
  let foreign = false;
  let pendingArgs: StopEvent | undefined;

  const closeVersionBlock = (): void => {
    if (current?.reconnect && versionBlock.length > 0) {
      try {
        const parsed = parseVersion(versionBlock.join('\n'), 'banner');
        if (parsed.os) current.reconnect.os = parsed.os;
        if (parsed.kernelBase) current.reconnect.kernelBase = parsed.kernelBase;
      } catch {
        // Not a version block after all: its lines are already recorded as understood noise.
      }
    }
    versionBlock = [];
  };
  const start = (kind: StopKind, line: number): StopEvent => {
    closeVersionBlock();
    current = { kind, line };
    result.events.push(current);
    return current;
  };

  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const trimmed = line.trim();
    const lineNumber = index + 1;
    if (trimmed === '') continue;
    const prompt = matchPrompt(trimmed);
    if (prompt) {
      // An empty command repeats the last one (kd's Enter key).
      const next = prompt.command === '' ? command ?? '' : prompt.command;
      foreign = !GO_COMMAND.test(next);
      if (foreign) result.unparsed.push(line);
      else command = next;
      closeVersionBlock();
      current = undefined;
      continue;
    }
    if (foreign) {
      result.unparsed.push(line);
      continue;
    }
    if (pendingArgs) {
      const args = /^\((0x[0-9a-fA-F`]+(?:,0x[0-9a-fA-F`]+)*)\)$/.exec(trimmed);
      pendingArgs = undefined;
      if (args && current?.bugcheck) {
        current.bugcheck.args = args[1].split(',').map((arg) => arg.slice(2).replace('`', '').toLowerCase());
        continue;
      }
    }
    // Boxes of asterisks: the Ctrl+C banner and the local-kd warning.
    const lead = trimmed.charCodeAt(0);
    if (lead === 42 && /^\*{20,}$/.test(trimmed)) {
      if (inBox && /CTRL\+C/.test(boxText) && current && current.kind === 'breakpoint') current.kind = 'break-in';
      inBox = !inBox;
      boxText = '';
      continue;
    }
    if (inBox && trimmed.startsWith('*')) {
      boxText += ` ${trimmed}`;
      continue;
    }
    let match: RegExpExecArray | null;
    // Each stop line is tested only when its first character (or its ending) fits.
    if (trimmed.endsWith(' chance)') && (match = /^(.+?) - code ([0-9a-fA-F]{8}) \((first|second) chance\)$/.exec(trimmed))) {
      const code = match[2].toLowerCase();
      // The break that reports a bugcheck belongs to it.
      const event =
        current && current.kind === 'bugcheck' && current.code === undefined && !current.location
          ? current
          : start(code === '80000003' ? (/^\.breakin\b/.test(command ?? '') ? 'break-in' : 'breakpoint') : 'exception', lineNumber);
      event.exception = match[1];
      event.code = code;
      event.firstChance = match[3] === 'first';
      continue;
    }
    if (lead === 66 && (match = /^Breakpoint (\d+) hit$/.exec(trimmed))) {
      start('breakpoint', lineNumber).breakpoint = Number(match[1]);
      continue;
    }
    if (lead === 42 && (match = /^\*\*\* Fatal System Error: 0x([0-9a-fA-F]{1,8})$/.exec(trimmed))) {
      start('bugcheck', lineNumber).bugcheck = { code: parseInt(match[1], 16), args: [] };
      pendingArgs = current;
      continue;
    }
    if (lead === 66 && (match = /^Bugcheck code ([0-9a-fA-F]{1,8})$/.exec(trimmed))) {
      start('bugcheck', lineNumber).bugcheck = { code: parseInt(match[1], 16), args: [] };
      continue;
    }
    if (lead === 65 && (match = /^Arguments ([0-9a-fA-F`][0-9a-fA-F` ]*)$/.exec(trimmed)) && current?.bugcheck && current.bugcheck.args.length === 0) {
      current.bugcheck.args = match[1].trim().split(/ +/).map((arg) => arg.replace('`', '').toLowerCase());
      continue;
    }
    if (lead === 83 && (match = /^Shutdown occurred at \((.*)\)\.\.\.unloading all symbol tables\.$/.exec(trimmed))) {
      start('reconnect', lineNumber).reconnect = { shutdownAt: match[1], waiting: false, established: false };
      continue;
    }
    if (lead === 87 && /^Waiting to reconnect(?:\.\.\.|…)$/.test(trimmed)) {
      const event = current?.reconnect && !current.reconnect.connected ? current : start('reconnect', lineNumber);
      event.reconnect ??= { waiting: true, established: false };
      event.reconnect.waiting = true;
      continue;
    }
    const connected = lead === 67 ? parseConnectedLine(trimmed) : undefined;
    if (connected) {
      const event = current?.reconnect && !current.reconnect.connected ? current : start('reconnect', lineNumber);
      event.reconnect ??= { waiting: false, established: false };
      event.reconnect.connected = connected;
      continue;
    }
    if (lead === 75 && /^Kernel Debugger connection established\./.test(trimmed)) {
      const event = current?.reconnect ? current : start('reconnect', lineNumber);
      event.reconnect ??= { waiting: false, established: false };
      event.reconnect.established = true;
      continue;
    }
    if (current?.reconnect && !current.location && isVersionBlockLine(trimmed)) {
      versionBlock.push(trimmed);
      continue;
    }
    if (isSymbolLabel(trimmed)) {
      const label = trimmed.slice(0, -1);
      const instruction = index + 1 < lines.length ? parseInstructionLine(lines[index + 1]) : undefined;
      let event = current && !current.location && current.kind !== 'step' ? current : undefined;
      if (!event) {
        const bareKind: StopKind = instruction && instruction.mnemonic === 'int' && instruction.operands === '3' && !/^[tp]/.test(command ?? '') ? 'breakpoint' : 'step';
        event = start(bareKind, lineNumber);
      }
      closeVersionBlock();
      event.location = labelLocation(label);
      if (instruction) {
        event.instruction = instruction;
        index++;
      }
      continue;
    }
    const registers = parseRegisterLine(trimmed);
    if (registers && current) {
      // The first dump line's object is fresh and only ours; later lines add to it in order.
      if (current.registers) Object.assign(current.registers, registers);
      else current.registers = registers;
      continue;
    }
    if ((lead === 105 && /^iopl=/.test(trimmed)) || (current?.registers && lead === 99 && /^cs=[0-9a-f]{4}\s/.test(trimmed))) continue;
    // A stop without a symbol label: `00000003`2b2f0000 4831c0 xor rax,rax` after `t`.
    const bareInstruction = parseInstructionLine(line);
    if (bareInstruction && (!current || current.location || current.instruction)) {
      start('step', lineNumber).instruction = bareInstruction;
      continue;
    }
    if (bareInstruction && current && !current.instruction) {
      current.instruction = bareInstruction;
      continue;
    }
    if ((STOP_NOISE_LEADS.includes(trimmed[0]!) && STOP_NOISE.some((pattern) => pattern.test(trimmed))) || isReloadNoiseLine(trimmed)) continue;
    result.unparsed.push(line);
  }
  closeVersionBlock();
  if (result.events.length === 0) return undefined;
  const last = result.events[result.events.length - 1];
  // Until kd shows where the target sits, the stop is still being reported.
  result.complete = last.location !== undefined || last.instruction !== undefined || (last.kind === 'bugcheck' && last.bugcheck!.args.length > 0 && last.code !== undefined);
  return result;
}
