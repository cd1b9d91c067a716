/**
 * The kd console state machine of the simulator: it reads command lines while the target is
 * halted, prints what kd prints for them in the profile's era, lets the target run after go
 * commands, and reports every stop (PoolHitTag, break-in, reboot) the way kd shows it, running
 * `sx` event commands itself. Synchronous and clock-free: src/sim/console/runtime.ts drives it
 * in real time (time scale, latency, faults); tests may drive it directly.
 *
 * It talks to the kernel only through SimKernel (src/sim/kernel-api.ts).
 */
import { formatAddress } from '../../kd/common.js';
import type { SimFrame, SimKernel } from '../kernel-api.js';
import { BREAK_EXCEPTION_LINE, CTRL_C_BOX, breakInStack, int3LocationLines } from './break-text.js';
import { BreakpointTable, blLine, parseBreakpointCommand, selectIds, type Breakpoint } from './breakpoints.js';
import { type EventBreakStatus, parseSxArguments, splitCommands, splitJBranches, splitVerb } from './command-line.js';
import { decodeInstruction, formatInstruction } from './disasm.js';
import { type EvalContext, ExpressionError, evaluatePrefix, toLittleEndian } from './expression.js';
import { applyFlagArgument, flagHex, flagLines } from './gflag-table.js';
import { type DisplayUnit, UNIT_SIZE, formatMemory } from './memory-format.js';
import { formatPoolfind, formatPoolused, parsePoolfindArguments } from './pool-format.js';
import {
  type TargetClock, connectBannerLines, debuggerGeneration, promptText, reconnectLines, shutdownLine, versionLines, vertargetLines, connectedLine,
} from './profile-text.js';
import { formatStack, frameSymbol, parseStackVerb } from './stack-format.js';

/** Options of a console. */
export interface KdConsoleOptions {
  /** Break in right after connecting and after every reconnect (kd `-b` / Ctrl+K); default true. */
  initialBreak?: boolean;
  /** Called before every reboot, e.g. to load the host channel's registry into the kernel. */
  beforeBoot?: (kernel: SimKernel) => void;
  /** Real milliseconds `!poolfind` takes per 1000 outstanding blocks (default 20), capped by poolfindMaxDelayMs (default 3000). */
  poolfindMsPer1000Blocks?: number;
  poolfindMaxDelayMs?: number;
  /** At most this many PoolHitTag stops handled in one run() call (default 200). */
  maxStopsPerRun?: number;
}

/** Whether the console reads commands, the target runs, or the session ended. */
export type ConsoleState = 'halted' | 'running' | 'quit';

/** Text the console printed and the state it is left in; `delayMs` is real time the output should take. */
export interface ConsoleOutput {
  text: string;
  state: ConsoleState;
  delayMs: number;
  /**
   * What kd prints instead when Ctrl+C stops the slow command after `fraction` (0..1) of its
   * time: the part printed so far and kd's terminating line (`!poolfind`), prompt included.
   */
  interrupted?(fraction: number): string;
}

/** A console method called in a state that does not allow it (a caller bug, not a kd reply). */
export class ConsoleStateError extends Error {
  readonly code = 'SIM_CONSOLE_STATE';
  constructor(operation: string, state: ConsoleState) {
    super(`Expected the console to be ${operation === 'run' ? 'running' : 'halted'} for ${operation}(), got ${state}`);
    this.name = 'ConsoleStateError';
  }
}

// A length beyond what kd accepts for one display (kd: `^ Range error in '…'`).
class RangeReply extends Error {}

// What one command did to the flow of a command list: go on, the target runs, the session ends,
// or the list ends with the target halted (after `.reboot` and its initial break).
type Flow = 'next' | 'go' | 'quit' | 'halt';

// The break status and commands of one sx event.
interface EventFilter {
  status: EventBreakStatus;
  command?: string;
  command2?: string;
}

// Collects printed lines and extra delay for one console output.
class Output {
  lines: string[] = [];
  delayMs = 0;
  interrupted?: (fraction: number) => string[];
  add(...lines: string[]): void {
    this.lines.push(...lines);
  }
  text(): string {
    return this.lines.length > 0 ? `${this.lines.join('\n')}\n` : '';
  }
}

// Event filters as `sx` lists them; only bpe changes what the simulator does.
const EVENT_NAMES: readonly [string, string, EventBreakStatus][] = [
  ['ct', 'Create thread', 'ignore'],
  ['et', 'Exit thread', 'ignore'],
  ['cpr', 'Create process', 'ignore'],
  ['epr', 'Exit process', 'ignore'],
  ['ld', 'Load module', 'output'],
  ['ud', 'Unload module', 'ignore'],
  ['ser', 'System error', 'ignore'],
  ['ibp', 'Initial breakpoint', 'ignore'],
  ['iml', 'Initial module load', 'ignore'],
  ['out', 'Debuggee output', 'output'],
  ['av', 'Access violation', 'break'],
  ['bpe', 'Break instruction exception', 'break'],
  ['sse', 'Single-step exception', 'break'],
];

const STATUS_WORDS: Record<EventBreakStatus, string> = {
  break: 'break', 'second-chance': 'second-chance break', output: 'output', ignore: 'ignore',
};

/** A simulated kd console over one SimKernel. */
export class KdConsole {
  private state: ConsoleState = 'running';
  private stopKind: 'pool-hit' | 'break-in' | undefined;
  private breakInFrames: SimFrame[] = [];
  private readonly pseudo = new Array<bigint>(20).fill(0n);
  private readonly registerOverrides = new Map<string, bigint>();
  private readonly filters = new Map<string, EventFilter>();
  // Modules whose symbols kd has loaded: `.reload` defers every module, `.reload /f` and any use load them.
  private readonly loadedSymbols = new Set<string>();
  private lastDisplay: { address: bigint; unit: DisplayUnit; count?: number } | undefined;
  /** Where the last `u` stopped, and how many instructions it showed: an empty line goes on from there. */
  private lastUnassemble: { address: bigint; count?: number } | undefined;
  /** The last non-empty command line: kd runs it again when Enter is pressed on an empty line. */
  private lastLine: string | undefined;
  private readonly breakpoints = new BreakpointTable();
  // The one-shot address of `g Address`; kd drops it at the next stop, whatever the stop is.
  private goTarget: bigint | undefined;
  private readonly options: Required<Omit<KdConsoleOptions, 'beforeBoot'>> & Pick<KdConsoleOptions, 'beforeBoot'>;

  constructor(
    readonly kernel: SimKernel,
    options: KdConsoleOptions = {},
  ) {
    this.options = {
      initialBreak: options.initialBreak ?? true,
      beforeBoot: options.beforeBoot,
      poolfindMsPer1000Blocks: options.poolfindMsPer1000Blocks ?? 20,
      poolfindMaxDelayMs: options.poolfindMaxDelayMs ?? 3000,
      maxStopsPerRun: options.maxStopsPerRun ?? 200,
    };
    for (const [event, , status] of EVENT_NAMES) this.filters.set(event, { status });
  }

  /** The console's state: commands are read only while `halted`. */
  get currentState(): ConsoleState {
    return this.state;
  }

  /** The prompt kd shows now (`kd> ` or `0: kd> `). */
  prompt(): string {
    return promptText(this.kernel.profile, 0);
  }

  /** The connect banner; with an initial break it ends at the first prompt, else the target runs. */
  connect(): ConsoleOutput {
    const out = new Output();
    out.add(...connectBannerLines(this.kernel.profile, this.clock(), this.options.initialBreak));
    if (!this.options.initialBreak) {
      this.state = 'running';
      return this.finish(out);
    }
    return this.finishStop(out, this.breakIn(out));
  }

  /** Run one command line (commands separated by `;`) while halted. */
  execute(line: string): ConsoleOutput {
    if (this.state !== 'halted') throw new ConsoleStateError('execute', this.state);
    const out = new Output();
    if (line.trim() === '') line = this.repeatedLine();
    else this.lastLine = line;
    const flow = this.runCommandList(line, out);
    if (flow === 'quit') {
      this.state = 'quit';
      return this.finish(out);
    }
    if (flow === 'go') return this.finish(out);
    return this.finish(out, true);
  }

  /**
   * Let the running target run for at most `budgetMs` of target time. Returns when the budget
   * is used (still running) or at a stop that leaves the console halted (text ends at the prompt).
   */
  run(budgetMs: number): ConsoleOutput {
    if (this.state !== 'running') throw new ConsoleStateError('run', this.state);
    const out = new Output();
    let remaining = budgetMs;
    for (let stops = 0; remaining > 0 && stops < this.options.maxStopsPerRun; stops++) {
      const returned = this.returnPathStop(out);
      if (returned === 'quit') {
        this.state = 'quit';
        return this.finish(out);
      }
      if (returned === 'halt') return this.finish(out, true);
      if (returned === 'go') continue;
      const before = this.kernel.now();
      const stop = this.kernel.run(remaining);
      const used = this.kernel.now() - before;
      remaining -= used > 0 ? used : 0;
      if (stop.kind === 'timeout') break;
      this.goTarget = undefined;
      if (stop.kind === 'reboot') return this.finishStop(out, this.reconnect(out));
      this.stopKind = 'pool-hit';
      const flow = this.reportBreak(out, int3LocationLines(stop.stack[0], this.kernel.profile.pointerSize), false);
      if (flow === 'quit') {
        this.state = 'quit';
        return this.finish(out);
      }
      if (flow !== 'go') return this.finish(out, true);
    }
    return this.finish(out);
  }

  /** Ctrl+C: stop the running target and show the break-in. */
  interrupt(): ConsoleOutput {
    if (this.state !== 'running') return { text: '', state: this.state, delayMs: 0 };
    const out = new Output();
    return this.finishStop(out, this.breakIn(out));
  }

  /** A reboot the console did not ask for (the `reboot-at` fault): shutdown, reconnect, initial break. */
  spontaneousReboot(): ConsoleOutput {
    const out = new Output();
    return this.finishStop(out, this.rebootTarget(out));
  }

  // Close an output after a stop: a prompt when halted.
  private finishStop(out: Output, flow: Flow): ConsoleOutput {
    if (flow === 'quit') {
      this.state = 'quit';
      return this.finish(out);
    }
    return this.finish(out, flow !== 'go');
  }

  // Build the output record; the prompt ends the text whenever the console waits for a command.
  private finish(out: Output, halted = false): ConsoleOutput {
    if (halted) this.state = 'halted';
    const prompt = this.state === 'halted' ? this.prompt() : '';
    const text = out.text() + prompt;
    const partial = out.interrupted;
    if (!partial) return { text, state: this.state, delayMs: out.delayMs };
    return {
      text, state: this.state, delayMs: out.delayMs,
      interrupted: (fraction) => `${partial(fraction).join('\n')}\n${prompt}`,
    };
  }

  // Target clocks for the banner and vertarget.
  private clock(): TargetClock {
    return { bootEpochMs: this.kernel.bootTimeEpochMs(), uptimeMs: this.kernel.now() };
  }

  // A Ctrl+C break-in (or the initial break): exception line, box, location, then bpe's command.
  private breakIn(out: Output): Flow {
    this.goTarget = undefined;
    this.stopKind = 'break-in';
    this.breakInFrames = breakInStack(this.kernel);
    this.state = 'halted';
    return this.reportBreak(out, [...CTRL_C_BOX, ...int3LocationLines(this.breakInFrames[0], this.kernel.profile.pointerSize)], true);
  }

  // Show a break per the bpe filter and run its command; 'go' when the target runs on.
  private reportBreak(out: Output, details: string[], forced: boolean): Flow {
    const filter = this.filters.get('bpe') as EventFilter;
    const breaks = forced || filter.status === 'break';
    this.state = 'halted';
    if (breaks) out.add(BREAK_EXCEPTION_LINE, ...details);
    else if (filter.status !== 'ignore') out.add(BREAK_EXCEPTION_LINE);
    if (filter.command) {
      const flow = this.runCommandList(filter.command, out);
      if (flow !== 'next') return flow;
    }
    if (!breaks) return this.resume();
    return 'next';
  }

  // Let the target run on from a stop.
  private resume(): Flow {
    this.state = 'running';
    this.stopKind = undefined;
    this.registerOverrides.clear();
    return 'go';
  }

  // Shutdown text, the kernel's reboot, and the reconnect.
  private rebootTarget(out: Output): Flow {
    out.add(shutdownLine(this.kernel.bootTimeEpochMs() + this.kernel.now()), 'Waiting to reconnect...');
    this.options.beforeBoot?.(this.kernel);
    this.kernel.reboot();
    return this.reconnect(out);
  }

  // After a reboot: symbols are unloaded, the banner shows again, and the initial break (if any) follows.
  private reconnect(out: Output): Flow {
    this.loadedSymbols.clear();
    this.goTarget = undefined;
    this.stopKind = undefined;
    out.add(...reconnectLines(this.kernel.profile, this.clock(), this.options.initialBreak));
    if (!this.options.initialBreak) return this.resume();
    return this.breakIn(out);
  }

  // What an empty line runs: the last command line again, as kd does; `u` and `d*` go on where
  // they stopped (the next instructions, the next bytes) instead of showing the same ones.
  private repeatedLine(): string {
    const last = this.lastLine;
    if (last === undefined) return '';
    const commands = splitCommands(last);
    const { verb } = splitVerb(commands.at(-1) ?? '');
    const lower = verb.toLowerCase();
    const length = (count: number | undefined) => (count === undefined ? '' : ` L${count.toString(16)}`);
    if (commands.length === 1 && lower === 'u' && this.lastUnassemble) return `u ${this.lastUnassemble.address.toString(16)}${length(this.lastUnassemble.count)}`;
    if (commands.length === 1 && ['db', 'dd', 'dq'].includes(lower) && this.lastDisplay) return `${lower}${length(this.lastDisplay.count)}`;
    return last;
  }

  // Run the commands of one line in order; stop at a go command or q.
  private runCommandList(line: string, out: Output): Flow {
    for (const command of splitCommands(line)) {
      const flow = this.runCommand(command, out);
      if (flow !== 'next') return flow;
    }
    return 'next';
  }

  // One command; kd's error replies instead of exceptions.
  private runCommand(command: string, out: Output): Flow {
    try {
      return this.dispatch(command, out);
    } catch (error) {
      if (error instanceof RangeReply) {
        out.add(`${' '.repeat(this.prompt().length)}^ Range error in '${command}'`);
        return 'next';
      }
      if (error instanceof ExpressionError) {
        if (error.kind === 'syntax') out.add(`${' '.repeat(this.prompt().length)}^ Syntax error in '${command}'`);
        else out.add(error.message);
        return 'next';
      }
      throw error;
    }
  }

  // The command table.
  private dispatch(command: string, out: Output): Flow {
    const { verb, args } = splitVerb(command);
    const lower = verb.toLowerCase();
    if (lower.startsWith('!')) return this.extension(lower.slice(1), args, out);
    const breakpointVerb = /^(bp|bu|bc|bd|be|bl)(\d*)(?=[\s"]|$)/i.exec(command.trim());
    if (breakpointVerb) return this.breakpointCommand(breakpointVerb[1]!.toLowerCase(), breakpointVerb[2]!, command.trim().slice(breakpointVerb[0].length), command, out);
    const stack = parseStackVerb(verb);
    if (stack) {
      const count = args ? Number(this.value(args) & 0xffffn) : 20;
      const frames = this.frames();
      for (const frame of frames.slice(0, count)) this.loadedSymbols.add(frame.module.toLowerCase());
      out.add(...formatStack(this.kernel.profile, frames, { ...stack, count }));
      return 'next';
    }
    switch (lower) {
      case 'g': return this.go(args, command, out);
      case 'gu': return this.stepOut(out);
      case 'q': out.add('quit:'); return 'quit';
      case '.reboot': {
        const flow = this.rebootTarget(out);
        return flow === 'next' ? 'halt' : flow;
      }
      case '.reload': this.reload(args, out); return 'next';
      case '.echo': out.add(args.replace(/^"(.*)"$/s, '$1')); return 'next';
      case 'vertarget': out.add(...vertargetLines(this.kernel.profile, this.clock())); return 'next';
      case 'version': out.add(...versionLines(this.kernel.profile, this.clock())); return 'next';
      case 'lm': this.listModules(out); return 'next';
      case 'db': case 'dd': case 'dq': this.display(lower[1] as DisplayUnit, args, out); return 'next';
      case 'eb': case 'ed': case 'eq': this.enter(lower[1] as DisplayUnit, args, out); return 'next';
      case 'u': this.unassemble(args, out); return 'next';
      case 'ub': this.unassembleBackward(args, out); return 'next';
      case 'uf': this.unassembleFunction(args, out); return 'next';
      case 'x': this.examineSymbols(args, out); return 'next';
      case 'r': this.registerCommand(args, out); return 'next';
      case '?': {
        const value = this.value(args);
        const hex = formatAddress(value, this.kernel.profile.pointerSize);
        out.add(`Evaluate expression: ${BigInt.asIntN(64, value)} = ${hex}`);
        return 'next';
      }
      case 'j': return this.conditional(args, out);
      case 'sx': this.listEvents(out); return 'next';
      case 'sxe': case 'sxd': case 'sxn': case 'sxi': case 'sx-': this.setEvent(lower, args, command, out); return 'next';
      default:
        out.add(`${' '.repeat(this.prompt().length)}^ Syntax error in '${command}'`);
        return 'next';
    }
  }

  // Evaluation context over the kernel, the current registers and pseudo-registers.
  private context(): EvalContext {
    return {
      pointerSize: this.kernel.profile.pointerSize,
      resolveSymbol: (name) => {
        const address = this.kernel.resolveSymbol(name);
        if (address !== undefined) this.loadedSymbols.add((name.includes('!') ? name.slice(0, name.indexOf('!')) : 'nt').toLowerCase());
        return address;
      },
      register: (name) => this.register(name),
      readMemory: (address, length) => this.kernel.readMemory(address, length),
    };
  }

  // Evaluate a whole argument as one expression.
  private value(text: string): bigint {
    const parsed = evaluatePrefix(text, 0, this.context());
    if (parsed.end < text.length) throw new ExpressionError('syntax', text.slice(parsed.end), parsed.end);
    return parsed.value;
  }

  // Registers and pseudo-registers by lowercase name (no `@`).
  private register(name: string): bigint | undefined {
    const pseudo = /^\$t([0-9]|1[0-9])$/.exec(name);
    if (pseudo) return this.pseudo[Number(pseudo[1])];
    if (this.registerOverrides.has(name)) return this.registerOverrides.get(name);
    const x64 = this.kernel.profile.pointerSize === 8;
    const frames = this.frames();
    switch (name) {
      case '$ip': return frames[0]?.address ?? 0n;
      case '$ra': return frames[1]?.address ?? 0n;
      case '$csp': return frames[0]?.stackPointer ?? 0n;
      case '$retreg': return this.register(x64 ? 'rax' : 'eax');
      case '$ptrsize': return BigInt(this.kernel.profile.pointerSize);
      case '$pagesize': return 0x1000n;
      default: break;
    }
    const registers = this.stopKind === 'pool-hit' ? this.kernel.registers() : {};
    if (name in registers) return registers[name];
    const names = x64
      ? ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rip', 'rsp', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'efl']
      : ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'eip', 'esp', 'ebp', 'efl'];
    if (!names.includes(name)) return undefined;
    if (name === 'eip' || name === 'rip') return frames[0]?.address ?? 0n;
    if (name === 'esp' || name === 'rsp') return frames[0]?.stackPointer ?? 0n;
    if (name === 'efl') return 0x246n;
    return 0n;
  }

  // The stack at the current stop: the kernel's at a PoolHitTag break, the idle thread's after a break-in.
  private frames(): SimFrame[] {
    if (this.stopKind === 'pool-hit') return this.kernel.currentStop()?.stack ?? [];
    return this.breakInFrames;
  }

  // `gu`: run to the return of the current frame and show where the target stopped.
  private stepOut(out: Output): Flow {
    if (this.stopKind === 'pool-hit') this.kernel.stepOut();
    else this.breakInFrames = this.breakInFrames.slice(1);
    const frame = this.frames()[0];
    if (frame) out.add(`${frameSymbol(frame)}:`, this.instructionLine(frame.address));
    return 'next';
  }

  // `g`, `g Address` (run to it once) and `g =StartAddress [Address]`.
  private go(args: string, command: string, out: Output): Flow {
    let rest = args.trim();
    if (rest.startsWith('=')) {
      // The kernel model runs code only where its workload runs, so the start must be where the target is.
      const start = evaluatePrefix(rest, 1, this.context());
      if (start.value !== (this.frames()[0]?.address ?? 0n)) {
        out.add(`${' '.repeat(this.prompt().length)}^ Syntax error in '${command}'`);
        return 'next';
      }
      rest = rest.slice(start.end).trim();
    }
    if (rest !== '') this.goTarget = this.value(rest) & this.addressMask();
    return this.resume();
  }

  // All ones in the width of a pointer.
  private addressMask(): bigint {
    return (1n << BigInt(this.kernel.profile.pointerSize * 8)) - 1n;
  }

  // `bp`/`bu` (set), `bc` (clear), `bd`/`be` (disable/enable), `bl` (list).
  private breakpointCommand(verb: string, id: string, args: string, command: string, out: Output): Flow {
    const syntaxError = (): Flow => {
      out.add(`${' '.repeat(this.prompt().length)}^ Syntax error in '${command}'`);
      return 'next';
    };
    if (verb === 'bp' || verb === 'bu') {
      const request = parseBreakpointCommand(verb, id, args);
      if (!request) return syntaxError();
      const address = evaluatePrefix(request.location, 0, this.context());
      const passesText = request.location.slice(address.end).trim();
      const passes = passesText === '' ? 1 : Number(this.value(passesText) & 0xffffn) || 1;
      const { breakpoint, redefined } = this.breakpoints.set({
        ...(request.id !== undefined && { id: request.id }),
        address: address.value & this.addressMask(),
        unresolved: request.unresolved,
        passes,
        ...(request.command !== undefined && { command: request.command }),
      });
      if (redefined) out.add(`breakpoint ${breakpoint.id} redefined`);
      return 'next';
    }
    const ids = selectIds(`${id}${args}`, this.breakpoints.ids());
    if (!ids) return syntaxError();
    if (verb === 'bc') this.breakpoints.clear(ids);
    else if (verb === 'bd' || verb === 'be') this.breakpoints.enable(ids, verb === 'be');
    else {
      const shown = `${id}${args}`.trim() === '' ? this.breakpoints.list() : this.breakpoints.list().filter((bp) => ids.includes(bp.id));
      for (const bp of shown) out.add(blLine(bp, formatAddress(bp.address, this.kernel.profile.pointerSize), this.symbolText(bp.address)));
    }
    return 'next';
  }

  /**
   * After a go from a PoolHitTag stop, the stopped thread returns through the frames of its
   * stack: a breakpoint (or the `g Address` target) at one of their return addresses is hit on
   * the way, before the kernel runs on. The kernel model runs no other code one instruction at a
   * time, so breakpoints elsewhere (or at sites whose allocations PoolHitTag does not stop) are
   * listed and kept but never hit. Undefined when nothing is hit; else the flow after the hit.
   */
  private returnPathStop(out: Output): Flow | undefined {
    const stack = this.kernel.currentStop()?.stack;
    if (!stack) return undefined;
    for (let depth = 1; depth < stack.length; depth++) {
      const address = stack[depth]!.address;
      const breakpoint = this.breakpoints.at(address);
      if (breakpoint && breakpoint.passesLeft > 1) {
        breakpoint.passesLeft--;
        continue;
      }
      if (!breakpoint && this.goTarget !== address) continue;
      for (let step = 0; step < depth; step++) this.kernel.stepOut();
      this.goTarget = undefined;
      this.stopKind = 'pool-hit';
      this.state = 'halted';
      return this.reportBreakpoint(out, breakpoint);
    }
    return undefined;
  }

  // `Breakpoint N hit`, its command, and the location when the console stays at the prompt.
  private reportBreakpoint(out: Output, breakpoint: Breakpoint | undefined): Flow {
    if (breakpoint) {
      out.add(`Breakpoint ${breakpoint.id} hit`);
      // kd shows where the target sits only when it prompts: a command that resumes prints its own output alone.
      if (breakpoint.command) {
        const flow = this.runCommandList(breakpoint.command, out);
        if (flow !== 'next') return flow;
      }
    }
    const frame = this.frames()[0];
    if (frame) out.add(`${frameSymbol(frame)}:`, this.instructionLine(frame.address));
    return 'halt';
  }

  // One disassembly line at an address.
  private instructionLine(address: bigint): string {
    const profile = this.kernel.profile;
    const bytes = this.kernel.readMemory(address, 16) ?? this.kernel.readMemory(address, 1);
    if (!bytes) return `${formatAddress(address, profile.pointerSize)} ??              ???`;
    return formatInstruction(decodeInstruction(bytes, address, profile.arch === 'x64', (value) => this.symbolText(value), profile.pointerSize), profile.pointerSize);
  }

  // `module!symbol+0x…` for an address, when it has one.
  private symbolText(address: bigint): string | undefined {
    const symbol = this.kernel.symbolize(address);
    return symbol ? frameSymbol(symbol) : undefined;
  }

  // `!` extension commands the simulator knows.
  private extension(name: string, args: string, out: Output): Flow {
    switch (name) {
      case 'poolused': this.poolused(args, out); return 'next';
      case 'poolfind': this.poolfind(args, out); return 'next';
      case 'gflag': this.gflag(args, out); return 'next';
      default: out.add(`No export ${name} found`); return 'next';
    }
  }

  // `!poolused [flags [tag]]`.
  private poolused(args: string, out: Output): void {
    const match = /^(?:([0-9a-fA-Fx]+)(?:\s+(\S{1,4}|\S*\*\S*))?)?\s*$/.exec(args);
    if (!match) {
      out.add(`${' '.repeat(this.prompt().length)}^ Syntax error in '!poolused ${args}'`);
      return;
    }
    if (!this.kernel.taggingEnabled()) {
      // Legacy kdexts on a 2000/XP kernel without FLG_POOL_ENABLE_TAGGING (windows-versions.md §2).
      out.add('unable to get tag table.');
      return;
    }
    const flags = match[1] ? Number.parseInt(match[1].replace(/^0x/i, ''), 16) : 0;
    out.add(...formatPoolused(this.kernel.profile, this.kernel.tagCounters(), { flags, pattern: match[2] }));
  }

  // `!poolfind tag [pooltype]` (or the new `-tag "…" -paged` syntax), slow in proportion to the pool.
  private poolfind(args: string, out: Output): void {
    const request = parsePoolfindArguments(args, this.kernel.profile);
    if (!request) {
      out.add(`${' '.repeat(this.prompt().length)}^ Syntax error in '!poolfind ${args}'`);
      return;
    }
    const hits = [...this.kernel.outstanding(request.tag)].filter((hit) => hit.pool === request.pool);
    let blocks = 0;
    for (const counters of this.kernel.tagCounters()) {
      blocks += counters.paged.allocs - counters.paged.frees + counters.nonpaged.allocs - counters.nonpaged.frees;
    }
    out.delayMs += Math.min(this.options.poolfindMaxDelayMs, (blocks / 1000) * this.options.poolfindMsPer1000Blocks);
    const addresses = hits.map((hit) => hit.address);
    const low = addresses.reduce((a, b) => (b < a ? b : a), addresses[0] ?? this.kernel.profile.kernelBase);
    const high = addresses.reduce((a, b) => (b > a ? b : a), addresses[0] ?? this.kernel.profile.kernelBase);
    const granule = 0x100000n;
    const poolRange: [bigint, bigint] = [(low / granule) * granule, (high / granule + 4n) * granule];
    const tableStart = poolRange[1] + granule;
    const lines = formatPoolfind(this.kernel.profile, request, hits, { largeTable: [tableStart, tableStart + 0x18000n], pool: poolRange });
    const printedBefore = [...out.lines];
    out.add(...lines);
    // Ctrl+C during the scan: the hits found so far and kd's `...terminating` line (poolfind-unknown-x86-1.txt).
    const hitLines = lines.map((line, index) => (/^[0-9a-f]{8,16} (?:size:| : tag )/.test(line) ? index : -1)).filter((index) => index >= 0);
    out.interrupted = (fraction) => {
      const shown = Math.floor(hitLines.length * Math.min(1, Math.max(0, fraction)));
      const end = shown > 0 ? hitLines[shown - 1] + 1 : lines.findIndex((line) => line.startsWith('Searching')) + 1;
      const last = shown > 0 ? lines[hitLines[shown - 1]].slice(0, this.kernel.profile.pointerSize * 2) : poolRange[0].toString(16).padStart(this.kernel.profile.pointerSize * 2, '0');
      return [...printedBefore, ...lines.slice(0, end), '', `...terminating - searched pool to ${last}`];
    };
  }

  // `!gflag [+flag|-flag|value]` over nt!NtGlobalFlag.
  private gflag(args: string, out: Output): void {
    const current = this.kernel.ntGlobalFlag() >>> 0;
    const modern = debuggerGeneration(this.kernel.profile) === 'modern';
    if (args.trim() === '') {
      out.add(`Current NtGlobalFlag contents: 0x${flagHex(current)}`, ...flagLines(current));
      if (modern) out.add('Current NtGlobalFlag2 contents: 0x00000000');
      return;
    }
    let value = current;
    for (const argument of args.trim().split(/\s+/)) {
      const next = applyFlagArgument(value, argument);
      if (next === undefined) {
        out.add(`Unknown flag ${argument}`);
        return;
      }
      value = next;
    }
    const address = this.kernel.resolveSymbol('nt!NtGlobalFlag');
    if (address === undefined || !this.kernel.writeMemory(address, toLittleEndian(BigInt(value), 4))) {
      out.add("Couldn't resolve error at 'nt!NtGlobalFlag'");
      return;
    }
    out.add(`New NtGlobalFlag contents: 0x${flagHex(value)}`, ...flagLines(value));
  }

  // `.reload [/f] [module]`: the Connected line and symbol-loading progress (reload-winxp-x86-3.txt).
  private reload(args: string, out: Output): void {
    const all = args.split(/\s+/).filter((word) => word.length > 0);
    const force = all.some((word) => word.toLowerCase() === '/f');
    const words = all.filter((word) => !word.startsWith('/'));
    const moduleName = words[0]?.replace(/\.(sys|exe|dll)$/i, '').toLowerCase();
    if (moduleName) {
      const module = this.kernel.modules().find((entry) => entry.name.toLowerCase() === moduleName || entry.image.toLowerCase() === words[0].toLowerCase());
      if (!module) out.add(`"${words[0]}" was not found in the image list.`);
      else if (force) this.loadedSymbols.add(module.name.toLowerCase());
      else this.loadedSymbols.delete(module.name.toLowerCase());
      return;
    }
    this.loadedSymbols.clear();
    if (force) for (const module of this.kernel.modules()) this.loadedSymbols.add(module.name.toLowerCase());
    const modules = this.kernel.modules().length;
    out.add(connectedLine(this.kernel.profile, this.clock()), 'Loading Kernel Symbols');
    for (let done = 0; done < modules; done += 64) out.add('.'.repeat(Math.min(64, modules - done)));
    out.add('Loading User Symbols', 'Loading unloaded module list', '.'.repeat(Math.max(1, Math.min(8, modules))));
  }

  // `lm`: modules sorted by base, lm-winxp-x86-1.txt / lm-win10-x64-1.txt columns.
  private listModules(out: Output): void {
    const pointerSize = this.kernel.profile.pointerSize;
    out.add(pointerSize === 8 ? 'start             end                 module name' : 'start    end        module name');
    const modules = [...this.kernel.modules()].sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
    for (const module of modules) {
      const range = `${formatAddress(module.base, pointerSize)} ${formatAddress(module.base + BigInt(module.size), pointerSize)}`;
      const symbols = this.loadedSymbols.has(module.name.toLowerCase())
        ? `${'(pdb symbols)'.padEnd(23, ' ')}c:\\symbols\\${module.name}.pdb\\${pdbSignature(module.name)}\\${module.name}.pdb`
        : '(deferred)';
      out.add(`${range}   ${module.name.padEnd(10, ' ')} ${symbols}`);
    }
  }

  // Parse `<address> [L<count>]` of d*/u; the address may be omitted to continue.
  private addressAndCount(args: string, fallback: bigint | undefined): { address: bigint; count?: number } {
    const context = this.context();
    let address = fallback;
    let rest = args.trim();
    if (rest.length > 0 && !/^l\s*[0-9a-f?]/i.test(rest)) {
      const parsed = evaluatePrefix(rest, 0, context);
      address = parsed.value;
      rest = rest.slice(parsed.end).trim();
    }
    if (address === undefined) throw new ExpressionError('syntax', '<EOL>', 0);
    let count: number | undefined;
    if (rest.length > 0) {
      const length = /^l\s*/i.exec(rest);
      if (!length) throw new ExpressionError('syntax', rest, 0);
      const parsed = evaluatePrefix(rest, length[0].length, context);
      if (parsed.end < rest.length) throw new ExpressionError('syntax', rest.slice(parsed.end), parsed.end);
      count = Number(parsed.value);
    }
    return { address: address & ((1n << BigInt(this.kernel.profile.pointerSize * 8)) - 1n), count };
  }

  // `db`/`dd`/`dq` with kd's default lengths (0x80 bytes).
  private display(unit: DisplayUnit, args: string, out: Output): void {
    const previous = this.lastDisplay;
    const fallback = previous ? previous.address : undefined;
    const { address, count } = this.addressAndCount(args, fallback);
    const elements = count ?? 0x80 / UNIT_SIZE[unit];
    if (elements * UNIT_SIZE[unit] > 0x100000) throw new RangeReply();
    const reader = (at: bigint, length: number) => this.kernel.readMemory(at, length);
    out.add(...formatMemory(reader, address, elements, unit, this.kernel.profile.pointerSize));
    this.lastDisplay = { address: address + BigInt(elements * UNIT_SIZE[unit]), unit, ...(count !== undefined && { count }) };
  }

  // `eb`/`ed`/`eq address value [value…]`: silent on success, as kd.
  private enter(unit: DisplayUnit, args: string, out: Output): void {
    const context = this.context();
    const first = evaluatePrefix(args, 0, context);
    let position = first.end;
    const size = UNIT_SIZE[unit];
    const values: bigint[] = [];
    while (position < args.length) {
      const parsed = evaluatePrefix(args, position, context);
      values.push(parsed.value);
      position = parsed.end;
    }
    if (values.length === 0) throw new ExpressionError('syntax', '<EOL>', args.length);
    const bytes = new Uint8Array(values.length * size);
    values.forEach((value, index) => bytes.set(toLittleEndian(value, size), index * size));
    if (!this.kernel.writeMemory(first.value, bytes)) out.add(`Memory access error at '${args.slice(first.end)}'`);
  }

  // `u [address] [L count]`: 8 instructions by default, a symbol line first.
  private unassemble(args: string, out: Output): void {
    const { address, count } = this.addressAndCount(args, this.frames()[0]?.address);
    if ((count ?? 8) > 0x10000) throw new RangeReply();
    const next = this.listInstructions(address, count ?? 8, out);
    this.lastUnassemble = { address: next, ...(count !== undefined && { count }) };
  }

  // Instruction lines from `address` on, a `module!symbol+0x…:` line before the first and before
  // any at a symbol's start (u's layout); the address after the last.
  private listInstructions(address: bigint, count: number, out: Output): bigint {
    let at = address;
    for (let index = 0; index < count; index++) {
      const symbol = this.kernel.symbolize(at);
      if (symbol && (index === 0 || symbol.offset === 0)) out.add(`${frameSymbol(symbol)}:`);
      out.add(this.instructionLine(at));
      at += BigInt(this.instructionLength(at));
    }
    return at;
  }

  // How many bytes the instruction at an address takes (1 where nothing can be read).
  private instructionLength(address: bigint): number {
    const bytes = this.kernel.readMemory(address, 16) ?? this.kernel.readMemory(address, 1);
    return bytes ? decodeInstruction(bytes, address, this.kernel.profile.arch === 'x64', () => undefined, this.kernel.profile.pointerSize).bytes.length : 1;
  }

  // `ub [address] [L count]`: the instructions that end just before the address, 8 by default,
  // listed as `u` lists them (ub-win10-x64-1.txt). kd finds where they start by disassembling
  // forward from an earlier point; the simulator decodes each symbol's code from its start.
  private unassembleBackward(args: string, out: Output): void {
    const { address, count } = this.addressAndCount(args, this.frames()[0]?.address);
    const wanted = count ?? 8;
    if (wanted > 0x10000) throw new RangeReply();
    const starts: bigint[] = [];
    let end = address;
    while (starts.length < wanted && end > 0n) {
      const symbol = this.kernel.symbolize(end - 1n);
      if (!symbol) break;
      const start = end - 1n - BigInt(symbol.offset);
      const region: bigint[] = [];
      for (let at = start; at < end; at += BigInt(this.instructionLength(at))) region.push(at);
      starts.unshift(...region);
      end = start;
    }
    const first = starts.slice(-wanted)[0];
    if (first !== undefined) this.listInstructions(first, Math.min(wanted, starts.length), out);
  }

  // `uf address`: the function that holds the address, from its start, as uf prints it
  // (uf-win10-x64-1.txt): its label, then its instructions to its ret. The simulated functions
  // have no conditional jump, so there is one block and no `Branch` mark; the listing also stops
  // where the function's symbol ends.
  private unassembleFunction(args: string, out: Output): void {
    if (args.trim() === '') throw new ExpressionError('syntax', '<EOL>', 0);
    const address = this.value(args.trim());
    const symbol = this.kernel.symbolize(address);
    const start = symbol?.function !== undefined ? address - BigInt(symbol.offset) : address;
    const size = this.kernel.modules().flatMap((module) => module.symbols).find((candidate) => candidate.address === start)?.size ?? 0x10000;
    const label = this.kernel.symbolize(start);
    if (label) out.add(`${frameSymbol(label)}:`);
    for (let at = start; at < start + BigInt(size); ) {
      const line = this.instructionLine(at);
      out.add(line);
      if (/\sret\b/.test(line)) break;
      at += BigInt(this.instructionLength(at));
    }
  }

  // `x module!pattern`: the symbols that match, `*` and `?` as wildcards, case-insensitive, in
  // address order (kd's order is its symbol enumeration's). With public symbols a function ends
  // ` (<no parameter info>)` and a variable ` = <no type information>` (x-win7-x64-1.txt,
  // x-win10-x64-1.txt); on a 32-bit target the address is padded to a 64-bit one's width
  // (x-win10-x86-1.txt, the one x86 transcript, from a newer debugger than the kd 6.12 the
  // banner names).
  private examineSymbols(args: string, out: Output): void {
    const pattern = args.trim();
    const bang = pattern.indexOf('!');
    if (bang < 0) return;
    const wildcard = (text: string) => new RegExp(`^${text.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
    const modulePattern = wildcard(pattern.slice(0, bang));
    const namePattern = wildcard(pattern.slice(bang + 1));
    const pointerSize = this.kernel.profile.pointerSize;
    for (const module of this.kernel.modules()) {
      if (!modulePattern.test(module.name)) continue;
      this.loadedSymbols.add(module.name.toLowerCase());
      for (const symbol of [...module.symbols].sort((a, b) => (a.address < b.address ? -1 : 1))) {
        if (!namePattern.test(symbol.name)) continue;
        const address = formatAddress(symbol.address, pointerSize);
        out.add(`${pointerSize === 4 ? address.padEnd(17, ' ') : address} ${module.name}!${symbol.name}${symbol.data ? ' = <no type information>' : ' (<no parameter info>)'}`);
      }
    }
  }

  // `r`, `r reg`, `r reg=value`, `r @$t0=…` (several assignments separated by commas).
  private registerCommand(args: string, out: Output): void {
    const x64 = this.kernel.profile.pointerSize === 8;
    const width = x64 ? 16 : 8;
    if (args.trim() === '') {
      out.add(...this.registerDump());
      return;
    }
    for (const part of args.split(',')) {
      const assignment = /^\s*@?(\$?[A-Za-z][A-Za-z0-9]*)\s*(?:=\s*(.*))?$/s.exec(part);
      if (!assignment) throw new ExpressionError('syntax', part.trim(), 0);
      const name = assignment[1].toLowerCase();
      const current = this.register(name);
      if (current === undefined) {
        out.add(`Bad register error at '${part.trim()}'`);
        return;
      }
      if (assignment[2] === undefined) {
        out.add(`${name}=${current.toString(16).padStart(name.startsWith('$') ? width : width, '0')}`);
        continue;
      }
      const value = this.value(assignment[2].trim());
      const pseudo = /^\$t([0-9]|1[0-9])$/.exec(name);
      if (pseudo) this.pseudo[Number(pseudo[1])] = value;
      else this.registerOverrides.set(name, value);
    }
  }

  // The full register display of the architecture (kp-win7-x86-1.txt, bphit-win7-x64-1.txt).
  private registerDump(): string[] {
    const x64 = this.kernel.profile.pointerSize === 8;
    const value = (name: string) => (this.register(name) ?? 0n).toString(16).padStart(x64 && name !== 'efl' ? 16 : 8, '0');
    const frame = this.frames()[0];
    const location = frame ? [`${frameSymbol(frame)}:`, this.instructionLine(frame.address)] : [];
    if (!x64) {
      return [
        `eax=${value('eax')} ebx=${value('ebx')} ecx=${value('ecx')} edx=${value('edx')} esi=${value('esi')} edi=${value('edi')}`,
        `eip=${value('eip')} esp=${value('esp')} ebp=${value('ebp')} iopl=0         nv up ei pl zr na pe nc`,
        `cs=0008  ss=0010  ds=0023  es=0023  fs=0030  gs=0000             efl=${value('efl')}`,
        ...location,
      ];
    }
    return [
      `rax=${value('rax')} rbx=${value('rbx')} rcx=${value('rcx')}`,
      `rdx=${value('rdx')} rsi=${value('rsi')} rdi=${value('rdi')}`,
      `rip=${value('rip')} rsp=${value('rsp')} rbp=${value('rbp')}`,
      ` r8=${value('r8')}  r9=${value('r9')} r10=${value('r10')}`,
      `r11=${value('r11')} r12=${value('r12')} r13=${value('r13')}`,
      `r14=${value('r14')} r15=${value('r15')}`,
      'iopl=0         nv up ei pl zr na po nc',
      `cs=0010  ss=0018  ds=002b  es=002b  fs=0053  gs=002b             efl=${value('efl')}`,
      ...location,
    ];
  }

  // `j Expression Command1 ; Command2`.
  private conditional(args: string, out: Output): Flow {
    const parsed = evaluatePrefix(args, 0, this.context());
    const branches = splitJBranches(args.slice(parsed.end));
    const chosen = parsed.value !== 0n ? branches.whenTrue : branches.whenFalse;
    return chosen.trim() ? this.runCommandList(chosen, out) : 'next';
  }

  // `sx`: every event with its break status, and its commands when set.
  private listEvents(out: Output): void {
    for (const [event, description] of EVENT_NAMES) {
      const filter = this.filters.get(event) as EventFilter;
      out.add(`${event.padStart(4, ' ')} - ${description} - ${STATUS_WORDS[filter.status]}`);
      if (filter.command) out.add(`       Command: "${filter.command}"`);
      if (filter.command2) out.add(`       Command2: "${filter.command2}"`);
    }
  }

  // `sxe -c "…" bpe` and friends.
  private setEvent(verb: string, args: string, command: string, out: Output): void {
    const parsed = parseSxArguments(verb, args);
    if (!parsed) {
      out.add(`${' '.repeat(this.prompt().length)}^ Syntax error in '${command}'`);
      return;
    }
    const names = parsed.event === '*' ? [...this.filters.keys()] : [parsed.event];
    for (const name of names) {
      const filter = this.filters.get(name) ?? { status: 'break' as EventBreakStatus };
      if (parsed.status && !parsed.handling) filter.status = parsed.status;
      if (parsed.command !== undefined) filter.command = parsed.command || undefined;
      if (parsed.command2 !== undefined) filter.command2 = parsed.command2 || undefined;
      this.filters.set(name, filter);
    }
  }
}

// A stable 33-character pdb signature for a module name (GUID + age as kd's symbol cache paths show).
function pdbSignature(name: string): string {
  let hash = 2166136261;
  let text = '';
  for (let round = 0; text.length < 32; round++) {
    for (const char of `${name}:${round}`) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
    text += hash.toString(16).toUpperCase().padStart(8, '0');
  }
  return `${text.slice(0, 32)}1`;
}
