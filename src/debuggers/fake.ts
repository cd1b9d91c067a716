/**
 * An in-memory DebuggerSession for the engine's own tests: scripted replies, recorded
 * commands, a byte-addressed memory, and a TargetMemory with an undo log over it.
 * Not a simulator: it knows no kd syntax beyond what a test scripts.
 */
import { DebuggerError } from './errors.js';
import type { BreakEvent, CommandResult, ConnectedTarget, DebuggerSession, Facts, GoCommand, RunFiles, TargetMemory, UndoRecord, WaitOptions } from '../core/types.js';

/** A scripted reply: fixed text, or computed from the command. */
export type FakeReply = string | ((command: string) => string);

/** Options of the fake session. */
export interface FakeSessionOptions {
  banner?: string;
  /** Replies by exact command, or by a regular expression tested in order. */
  replies?: Record<string, FakeReply> | readonly [RegExp, FakeReply][];
  /** Break events waitForBreak() returns, in order (then it waits until aborted). */
  breaks?: readonly BreakEvent[];
  /** Initial memory contents by lowercase hex address or symbol (`nt!poolhittag`). */
  memory?: Record<string, readonly number[]>;
}

/** A DebuggerSession that records what it was sent and answers from a script. */
export class FakeDebuggerSession implements DebuggerSession {
  readonly transport = 'fake';
  readonly banner: string;
  /** Every command and go-command sent, in order. */
  readonly sent: string[] = [];
  /** Bytes by address, written by fake memory writes. */
  readonly bytes = new Map<string, number[]>();
  running = false;
  closed: { resume?: boolean } | undefined;
  private readonly replies: [RegExp | string, FakeReply][];
  private readonly breaks: BreakEvent[];

  constructor(options: FakeSessionOptions = {}) {
    this.banner = options.banner ?? 'Connected to a fake target';
    const replies = options.replies ?? {};
    this.replies = Array.isArray(replies) ? [...(replies as [RegExp, FakeReply][])] : Object.entries(replies);
    this.breaks = [...(options.breaks ?? [])];
    for (const [address, value] of Object.entries(options.memory ?? {})) this.bytes.set(address.toLowerCase(), [...value]);
  }

  async execute(command: string, options: WaitOptions = {}): Promise<CommandResult> {
    if (options.signal?.aborted) throw options.signal.reason;
    if (this.running) throw new Error(`command "${command}" sent while the target runs`);
    this.sent.push(command);
    const match = this.replies.find(([key]) => (typeof key === 'string' ? key === command : key.test(command)));
    const reply = match ? match[1] : '';
    return { command, output: typeof reply === 'function' ? reply(command) : reply, complete: true, durationMs: 0 };
  }

  async resume(command: GoCommand = 'g'): Promise<void> {
    this.sent.push(command);
    this.running = true;
  }

  async waitForBreak(options: WaitOptions = {}): Promise<BreakEvent> {
    const next = this.breaks.shift();
    if (next) {
      this.running = false;
      return next;
    }
    // A fake target runs no time: a limit in force has run out at once.
    if (this.limit !== undefined) throw new DebuggerError('RUN_LIMIT_REACHED', `The target ran its limit of ${this.limit} ms`);
    return new Promise((resolve, reject) => {
      const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => reject(new Error('timed out waiting for a break')), options.timeoutMs);
      options.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(options.signal!.reason);
      }, { once: true });
      void resolve;
    });
  }

  /** The run limit in force (limitRun), ms. */
  limit: number | undefined;

  limitRun(ms: number | undefined): void {
    this.limit = ms === undefined ? undefined : Math.min(ms, this.limit ?? ms);
  }

  async breakIn(): Promise<BreakEvent> {
    this.sent.push('<break-in>');
    this.running = false;
    return { kind: 'break-in', output: 'Break instruction exception - code 80000003 (first chance)', prompt: 'kd> ' };
  }

  async close(options: { resume?: boolean } = {}): Promise<void> {
    this.closed = { resume: options.resume ?? true };
    if (options.resume ?? true) this.running = true;
  }
}

/** A TargetMemory over a fake session's byte map, with an undo log in the run files. */
export function createFakeMemory(session: FakeDebuggerSession, files: RunFiles, stepId: string | (() => string), shared: { seq: number; pending: UndoRecord[] } = { seq: 0, pending: [] }): TargetMemory {
  const key = (address: string) => address.toLowerCase().replace(/`/g, '').replace(/^0x/, '');
  const hex = (bytes: readonly number[]) => bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return {
    async read(address, length) {
      const bytes = session.bytes.get(key(address)) ?? [];
      return Array.from({ length }, (_, i) => bytes[i] ?? 0);
    },
    async write(address, bytes, purpose) {
      const original = session.bytes.get(key(address)) ?? Array.from({ length: bytes.length }, () => 0);
      const record: UndoRecord = { seq: ++shared.seq, address: key(address), original: original.slice(0, bytes.length), written: [...bytes], purpose, step: typeof stepId === 'function' ? stepId() : stepId };
      files.appendJsonLine('undo.jsonl', { action: 'write', ...record });
      await session.execute(`eb ${record.address} ${hex(bytes)}`);
      session.bytes.set(record.address, [...bytes, ...original.slice(bytes.length)]);
      shared.pending.push(record);
      return record;
    },
    async restore(records) {
      const todo = [...(records ?? shared.pending)].sort((a, b) => b.seq - a.seq);
      for (const record of todo) {
        await session.execute(`eb ${record.address} ${hex(record.original)}`);
        const current = session.bytes.get(record.address) ?? [];
        session.bytes.set(record.address, [...record.original, ...current.slice(record.original.length)]);
        files.appendJsonLine('undo.jsonl', { action: 'restore', seq: record.seq });
        const index = shared.pending.indexOf(record);
        if (index >= 0) shared.pending.splice(index, 1);
      }
      return todo;
    },
    pending: () => [...shared.pending],
  };
}

/** A ConnectedTarget around a fake session and given facts. */
export function createFakeTarget(facts: Facts, session = new FakeDebuggerSession()): ConnectedTarget & { session: FakeDebuggerSession; refreshCount: number } {
  const target = {
    session,
    facts,
    refreshCount: 0,
    async refreshFacts() {
      target.refreshCount++;
      return target.facts;
    },
    async close(options: { resume?: boolean } = {}) {
      await session.close(options);
    },
  };
  return target;
}
