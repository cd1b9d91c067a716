/**
 * Every type a plugin author touches, in one file (see docs/plugins.md).
 *
 * Keep together what changes together: the debugger contract, facts, the step provider
 * contract and the context a provider runs in. Engine internals live elsewhere and are not
 * reachable from a provider.
 */

import type { KdKind, KdResultByKind } from '../kd/index.js';
import type { ParseResultBase } from '../kd/common.js';

// ─── Positions ──────────────────────────────────────────────────────────────────────────

/** A 1-based position in a playbook or scenario file. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

// ─── The debugger contract (DESIGN.md, "The debugger contract") ──────────────────────────

/** What one non-go command printed, framed exactly (the prompt and the framing marker removed). */
export interface CommandResult {
  command: string;
  /** Raw text kd printed for the command, lines joined with `\n`, no trailing prompt. */
  output: string;
  /** False when the output was cut by a timeout, a break-in or the debugger's exit. */
  complete: boolean;
  durationMs: number;
}

/** Why the target stopped (or the debugger went away) after a go-class command. */
export type BreakKind =
  /** `Break instruction exception - code 80000003` (PoolHitTag, DbgBreakPoint, int 3). */
  | 'breakpoint'
  /** A break-in requested by Ctrl+C / breakIn(). */
  | 'break-in'
  /** `gu`, `p`, `t` finished and the prompt came back. */
  | 'step'
  /** `*** Fatal System Error: 0x…` */
  | 'bugcheck'
  /** The target rebooted and the debugger reconnected (banner printed again). */
  | 'reconnect'
  /** The debugger process exited. */
  | 'exit';

/** A stop of the target, with everything kd printed from the go command up to the prompt. */
export interface BreakEvent {
  kind: BreakKind;
  /** All text printed between the go command and the next prompt (stack of auto-run commands included). */
  output: string;
  /** The prompt that ended the wait, e.g. `kd> ` or `0: kd> `; absent when kind is `exit`. */
  prompt?: string;
  /** Bugcheck code and arguments when kind is `bugcheck`; arguments are lowercase hex strings (64-bit values do not fit a JSON number). */
  bugcheck?: { code: number; args: string[] };
}

/** Go-class commands: after them kd reads nothing until the target stops again. */
export type GoCommand = 'g' | 'gu' | 'p' | 't' | '.reboot';

/**
 * Options of resume() (added for per-hit collection; a session that does not know them sends the
 * go command alone).
 */
export interface ResumeOptions {
  /**
   * Non-go commands sent on the same line before the go command (`bp … "r eax; g"; g`): one
   * round trip instead of one per command. Their output comes first in the stop's output.
   */
  before?: readonly string[];
}

/** Options shared by every call that waits on the debugger. */
export interface WaitOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * waitForBreak only: console output is handed here in whole lines as it arrives, and the
   * BreakEvent then holds only the last lines before the stop. For long streams (kd printing a
   * stack at every break, fast-mode collection) that must not be held in memory at once.
   */
  onOutput?: (text: string) => void;
}

/**
 * One open kernel-debugger session. Plugins see only this; they never spawn processes.
 * Implementations: kd-console (a real kd.exe, or the simulator process), replay, and the
 * engine tests' in-memory fake.
 */
export interface DebuggerSession {
  /** `kd-console`, `replay`, `fake`, … (becomes facts.debugger.transport). */
  readonly transport: string;
  /** Everything the debugger printed on connect, up to the first prompt (banner, break-in). */
  readonly banner: string;
  /** Run one non-go command and return its framed output. Rejects with a SESSION_* error if the debugger died. */
  execute(command: string, options?: WaitOptions): Promise<CommandResult>;
  /** Send a go-class command (`g` by default). Resolves once it is sent, not when the target stops. */
  resume(command?: GoCommand, options?: ResumeOptions): Promise<void>;
  /** Wait for the target to stop after resume(). */
  waitForBreak(options?: WaitOptions): Promise<BreakEvent>;
  /** Stop a running target (Ctrl+C) and wait for the prompt. */
  breakIn(options?: WaitOptions): Promise<BreakEvent>;
  /**
   * Limit how long the target may run before the caller breaks in: waitForBreak rejects with
   * RUN_LIMIT_REACHED once `ms` of running have passed (counted from this call; an earlier limit
   * still in force is only narrowed; `undefined` lifts it). A host timer against a real kd; the
   * simulator keeps it in target time, so a run there does not depend on the host's speed.
   */
  limitRun(ms: number | undefined): void;
  /** True while the target runs (after resume(), before the next break). */
  readonly running: boolean;
  /** End the session. `resume: true` (the default) leaves the target running. */
  close(options?: { resume?: boolean }): Promise<void>;
}

// ─── Facts ──────────────────────────────────────────────────────────────────────────────

export type Arch = 'x86' | 'x64' | 'arm64';

/** What the target is, from the banner and `vertarget`, cross-checked; drives provider selection. */
export interface OsFacts {
  /** `major.minor.build`, e.g. `5.1.2600`, `10.0.22631`. */
  version: string;
  /** The named alias the core gives this version: `win2000`, `xp`, `2003`, `vista`, `win7`, `win8`, `win81`, `win10`, `win11`. */
  alias: string;
  build: number;
  /** Service pack number, 0 when none. */
  sp: number;
  arch: Arch;
  pointerSize: 4 | 8;
  mp: boolean;
  processors: number;
  product?: string;
  buildLab?: string;
}

export interface PoolFacts {
  /** Is per-tag pool accounting on right now (always from 2003; 2000/XP only with GlobalFlag 0x400 at boot)? */
  taggingEnabled: boolean;
  /** `classic` before 19H1, `segment-heap` from 10.0.18362. */
  allocator: 'classic' | 'segment-heap';
}

export interface DebuggerFacts {
  transport: string;
  version?: string;
}

/** Facts about the connected target. Plugins may add their own namespace: facts['myplugin']. */
export interface Facts {
  os: OsFacts;
  pool: PoolFacts;
  debugger: DebuggerFacts;
  target: TargetFacts;
  [namespace: string]: unknown;
}

/** How the target was reached and what it offers besides the debugger. */
export interface TargetFacts {
  /** `sim`, `kd`, `process`, `replay`, `fake`. */
  kind: string;
  /** The spec the user gave, secrets redacted. */
  spec: string;
  /** A command template that runs `{cmd}` on the target machine (e.g. `winrs -r:HOST {cmd}`); absent when none. */
  hostChannel?: string;
  /** Boot time of the target in target-clock milliseconds, when known (used to prove a reboot). */
  bootTimeMs?: number;
}

// ─── Step providers ─────────────────────────────────────────────────────────────────────

/** A JSON Schema object (2020-12). */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** An output a provider declares; expressions may read only declared outputs. */
export interface OutputDeclaration {
  description: string;
  /** JSON type of the value, for docs and editors. */
  type?: 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null' | readonly string[];
}

/** Where a provider applies. Both fields omitted means everywhere. */
export interface AppliesTo {
  /** A semver range over `major.minor.build` (`>=5.0.0 <5.2.0`) or a named alias / alias range (`xp`, `win10-19h1+`, `>=win7`). */
  os?: string;
  arch?: readonly Arch[];
  /** Target kinds (facts.target.kind) this provider supports; omitted means all. */
  targetKinds?: readonly string[];
}

/**
 * Implements one step name (`uses`) for the targets it declares. Several providers may share
 * a step name for different versions; the core selects exactly one per step.
 */
export interface StepProvider<Params = Record<string, unknown>> {
  /** The public step name, e.g. `pool.collect-stacks`. */
  uses: string;
  /** Unique within its plugin, e.g. `classic-x86`; reported in plans and reports. */
  id: string;
  /** One sentence for `leakhunt plugins` and plans. */
  description: string;
  appliesTo?: AppliesTo;
  /** Tie-break between providers that both apply: higher wins; equal is AMBIGUOUS_PROVIDER. Default 0. */
  priority?: number;
  /** JSON Schema of `with:`; compiled once, strict, unknown keys rejected. */
  with: JsonSchema;
  /** The outputs this provider returns. */
  outputs: Readonly<Record<string, OutputDeclaration>>;
  /** Under `run --check`: the debugger commands this step would send (none is sent). Absent means the step is skipped in check mode. */
  checkCommands?(params: Params, context: CheckContext): string[];
  run(params: Params, context: StepContext): Promise<StepOutcome>;
}

/** One error code a plugin's providers may fail with (`ctx.fail(code, …)`), documented for users. */
export interface PluginErrorDeclaration {
  /** What happened, one sentence (`!poolused listed no tags`). */
  description: string;
  /** What the user should do about it, one sentence. */
  remedy: string;
}

/** A plugin is a plain object: a unique name plus what it contributes. */
export interface Plugin {
  name: string;
  version?: string;
  description?: string;
  steps: readonly StepProvider<any>[];
  /**
   * Every code its providers pass to `ctx.fail`, UPPER_SNAKE_CASE, with a remedy. Runs record
   * them namespaced by the plugin (`pool/NO_FREE_TAGS`); `leakhunt plugins --errors` lists them.
   */
  errors?: Readonly<Record<string, PluginErrorDeclaration>>;
}

/** What a provider returns; the engine turns it into a StepResult. */
export type StepOutcome =
  | { status: 'ok' | 'changed'; outputs?: Record<string, unknown>; facts?: Partial<Facts>; summary?: string }
  | { status: 'skipped'; reason: string; outputs?: Record<string, unknown> };

/** The result of one step as the engine records it. */
export type StepResult =
  | { status: 'ok' | 'changed'; outputs: Record<string, unknown>; summary?: string }
  | { status: 'skipped'; reason: string; outputs: Record<string, unknown> }
  | { status: 'failed'; error: { code: string; message: string; hint?: string }; outputs: Record<string, unknown> };

export type StepStatus = StepResult['status'];

/** A step after load-time validation and normalization (raw YAML never reaches providers). */
export interface StepDefinition {
  id: string;
  name?: string;
  uses: string;
  location: SourceLocation;
}

// ─── The context a provider runs in ─────────────────────────────────────────────────────

/** Severity-named log functions; messages go to the events stream and the reporter. */
export type StepLog = Readonly<Record<'debug' | 'info' | 'warn', (message: string) => void>>;

/** What a provider may read when listing its check-mode commands. */
export interface CheckContext {
  readonly step: StepDefinition;
  readonly facts: Facts;
  /**
   * For a `with:` value known only at run time (it reads earlier steps' outputs, which check mode
   * does not have): its expression, e.g. `steps.rank.outputs.suspect.tag`; undefined for a value
   * known now. Such a value reaches checkCommands as a placeholder object, never as the template's
   * text: show the expression (`<steps.rank.outputs.suspect.tag>`), never encode it as data.
   */
  atRunTime(value: unknown): string | undefined;
}

/** One reversible memory write, as kept in the run directory's undo log. */
export interface UndoRecord {
  /** Sequence number within the run. */
  seq: number;
  /** Address as lowercase hex without backtick or 0x. */
  address: string;
  /** What the address held before the write. */
  original: number[];
  /** What was written. */
  written: number[];
  /** Why (`PoolHitTag`, `retag site abcflt!AbcAllocateContext+0x2a`). */
  purpose: string;
  /** The step that wrote it. */
  step: string;
}

/** Reversible writes to target memory. Every write is logged to `undo.jsonl` before it is made. */
export interface TargetMemory {
  /** Read `length` bytes at an address or symbol expression (`nt!PoolHitTag`). */
  read(address: string, length: number): Promise<number[]>;
  /** Write bytes, keeping the original in the undo log; returns the record. */
  write(address: string, bytes: readonly number[], purpose: string): Promise<UndoRecord>;
  /** Restore the given records (all pending ones when omitted), newest first. */
  restore(records?: readonly UndoRecord[]): Promise<UndoRecord[]>;
  /** Writes not yet restored. */
  pending(): readonly UndoRecord[];
}

/** Files in the run directory a provider may append to. Writes are synchronous-on-arrival (JSON lines). */
export interface RunFiles {
  readonly dir: string;
  appendJsonLine(file: string, value: unknown): void;
  writeJson(file: string, value: unknown): void;
}

/** Options of one `ctx.kd(command)`. */
export interface KdCommandOptions {
  /** Give up on the command after this long (default: the session's command timeout). */
  timeoutMs?: number;
  /** Keep a reply cut by the timeout instead of failing with KD_COMMAND_INCOMPLETE (`!poolfind` within a budget). */
  allowIncomplete?: boolean;
  /**
   * The parser to read the reply with; by default the one the command calls for (`kb` → `stack`,
   * `!poolused 4` → `poolused`), none when no parser applies; `false` reads nothing.
   */
  parse?: KdKind | false;
}

/** What `ctx.kd(command)` returns: the framed output and, when a parser applies, what it read. */
export interface KdReply<Parsed = ParseResultBase | undefined> extends CommandResult {
  /** The parser used; undefined when none applied. */
  kind?: KdKind;
  parsed: Parsed;
}

/** `ctx.kd`: one non-go kd command with kd's error replies turned into coded errors and the reply parsed by kind. */
export interface KdCommand {
  <K extends KdKind>(command: string, options: KdCommandOptions & { parse: K }): Promise<KdReply<KdResultByKind[K]>>;
  (command: string, options?: KdCommandOptions): Promise<KdReply>;
}

/** Progress of long work, shown by the reporter (counts, elapsed, estimate). */
export interface Progress {
  update(done: number, total?: number, message?: string): void;
}

/** The narrow API a provider sees; everything else in the engine is private. */
export interface StepContext {
  readonly step: StepDefinition;
  readonly facts: Facts;
  readonly session: DebuggerSession;
  /**
   * Run one non-go command: kd's error replies fail with KD_COMMAND_FAILED (the reply kept as
   * `kdReply`), a reply cut short with KD_COMMAND_INCOMPLETE, output its parser cannot read with
   * KD_OUTPUT_UNREADABLE (POOL_TAGS_UNAVAILABLE for `!poolused`); otherwise the parsed reply.
   */
  readonly kd: KdCommand;
  readonly memory: TargetMemory;
  readonly files: RunFiles;
  readonly checkMode: boolean;
  readonly signal: AbortSignal;
  readonly log: StepLog;
  readonly progress: Progress;
  /** Inputs of the playbook, resolved. */
  readonly inputs: Readonly<Record<string, unknown>>;
  /** Outputs of earlier steps by id. */
  readonly outputsOf: (stepId: string) => Readonly<Record<string, unknown>> | undefined;
  /** Run a command on the target machine itself through facts.target.hostChannel. */
  readonly host?: (command: string) => Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Ask the operator a yes/no question on a TTY; undefined when there is no TTY. */
  readonly confirm?: (question: string) => Promise<boolean>;
  /** Reconnect after a reboot and gather facts again; returns the new facts. */
  readonly refreshFacts: () => Promise<Facts>;
  /** Throw an error attributed to this step, with one of the codes the plugin declares in `errors`. */
  fail(code: string, message: string, details?: { hint?: string; cause?: unknown }): never;
}

// ─── Connecting to a target (src/debuggers/connect.ts implements it) ────────────────────

/** Options for opening a target. */
export interface ConnectOptions {
  /** Run directory: the transcript (`transcript.jsonl`) and `sim-state.json` go here. */
  runDir?: string;
  /** Path of kd.exe / cdb.exe for `kd:` specs (else LEAKHUNT_KD or the usual Windows Kits folders). */
  kdPath?: string;
  /** Default per-command timeout. */
  commandTimeoutMs?: number;
  /** Stops connecting (the wait for the console's first prompt, the break-in of a running target) with SESSION_ABORTED. */
  signal?: AbortSignal;
  /** Called when a transcript line cannot be written (disk full, run directory gone); the session goes on. */
  onWriteError?: (file: string, error: unknown) => void;
}

/** An open target: the session, the facts gathered on connect, and how to reach it again. */
export interface ConnectedTarget {
  session: DebuggerSession;
  facts: Facts;
  /** Gather facts again (after a reboot and reconnect). */
  refreshFacts(): Promise<Facts>;
  /** Run a command on the target machine through its host channel, when it has one. */
  host?: (command: string) => Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Close the session (target left running unless `resume: false`) and finish the transcript. */
  close(options?: { resume?: boolean }): Promise<void>;
}

/** Opens a target from a spec such as `sim:winxp-sp3-x86`, `kd:-k net:port=50000,key=…`, `replay:run/transcript.jsonl`. */
export type TargetConnector = (spec: string, options: ConnectOptions) => Promise<ConnectedTarget>;
