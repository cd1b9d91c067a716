import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { BreakEvent, CommandResult, DebuggerSession, RunFiles } from '../../src/core/types.js';
import { loadPendingUndo } from '../../src/core/undo-log.js';
import { createTargetMemory, validateAddress } from '../../src/debuggers/memory.js';

// A halted x86 target in memory: answers `db <addr> L0x<n>` in kd's db layout (as in db-unknown-x86-1.txt) and `eb`.
class MemorySession implements DebuggerSession {
  readonly transport = 'test-memory';
  readonly banner = '';
  readonly running = false;
  readonly bytes = new Map<number, number>();
  readonly symbols = new Map([['nt!PoolHitTag', 0x820f2ba4]]);
  constructor(readonly log: string[]) {}

  async execute(command: string): Promise<CommandResult> {
    this.log.push(`kd:${command}`);
    const at = (text: string): number => this.symbols.get(text) ?? Number.parseInt(text, 16);
    let output = '';
    let match: RegExpExecArray | null;
    if ((match = /^db (\S+) L0x([0-9a-f]+)$/.exec(command))) {
      const start = at(match[1]!);
      const length = Number.parseInt(match[2]!, 16);
      const lines: string[] = [];
      for (let line = start; line < start + length; line += 16) {
        const cells: string[] = [];
        let ascii = '';
        for (let i = 0; i < 16 && line + i < start + length; i++) {
          const b = this.bytes.get(line + i) ?? 0;
          cells.push(b.toString(16).padStart(2, '0'));
          ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
        }
        const hex = cells.map((cell, i) => (i === 8 ? `-${cell}` : i === 0 ? cell : ` ${cell}`)).join('');
        lines.push(`${line.toString(16).padStart(8, '0')}  ${hex.padEnd(48, ' ')}  ${ascii}`);
      }
      output = lines.join('\n');
    } else if ((match = /^eb (\S+) ((?:[0-9a-f]{2} ?)+)$/.exec(command))) {
      const start = at(match[1]!);
      match[2]!.trim().split(' ').forEach((cell, i) => this.bytes.set(start + i, Number.parseInt(cell, 16)));
    } else {
      output = `Couldn't resolve error at '${command}'`;
    }
    return { command, output, complete: true, durationMs: 0 };
  }
  async resume(): Promise<void> {}
  async waitForBreak(): Promise<BreakEvent> {
    return { kind: 'breakpoint', output: '' };
  }
  limitRun(): void {}

  async breakIn(): Promise<BreakEvent> {
    return { kind: 'break-in', output: '' };
  }
  async close(): Promise<void> {}
}

// RunFiles on a temporary directory that also notes each undo-log append in the shared log.
function runFiles(log: string[]): RunFiles {
  const dir = mkdtempSync(join(tmpdir(), 'leakhunt-undo-'));
  return {
    dir,
    appendJsonLine(file, value) {
      log.push(`file:${file}:${(value as { event: string }).event}`);
      writeFileSync(join(dir, file), `${JSON.stringify(value)}\n`, { flag: 'a' });
    },
    writeJson(file, value) {
      writeFileSync(join(dir, file), JSON.stringify(value));
    },
  };
}

describe('target memory with an undo log', () => {
  test('the undo record is on disk before the write, with the original bytes', async () => {
    const log: string[] = [];
    const session = new MemorySession(log);
    [0x0f, 0xff, 0xff, 0xff].forEach((b, i) => session.bytes.set(0x820f2ba4 + i, b));
    const files = runFiles(log);
    const memory = createTargetMemory(session, files, 'arm-hit-tag');
    const record = await memory.write('nt!PoolHitTag', [0x41, 0x62, 0x63, 0x20], 'PoolHitTag');
    expect(record).toEqual({ seq: 1, address: '820f2ba4', original: [0x0f, 0xff, 0xff, 0xff], written: [0x41, 0x62, 0x63, 0x20], purpose: 'PoolHitTag', step: 'arm-hit-tag' });
    expect(log).toEqual(['kd:db nt!PoolHitTag L0x4', 'file:undo.jsonl:write', 'kd:eb 820f2ba4 41 62 63 20', 'kd:db 820f2ba4 L0x4']);
    expect(await memory.read('nt!PoolHitTag', 4)).toEqual([0x41, 0x62, 0x63, 0x20]);
    expect(loadPendingUndo(files.dir)).toEqual([record]);
  });

  test('restore writes originals back newest first, verifies, and logs each restore', async () => {
    const log: string[] = [];
    const session = new MemorySession(log);
    const files = runFiles(log);
    let step = 'first';
    const memory = createTargetMemory(session, files, () => step);
    await memory.write('1000', [1, 2], 'one');
    step = 'second';
    await memory.write('1001', [9], 'overlapping');
    expect(session.bytes.get(0x1000)).toBe(1);
    expect(session.bytes.get(0x1001)).toBe(9);
    log.length = 0;
    const restored = await memory.restore();
    expect(restored.map((r) => [r.seq, r.step])).toEqual([[2, 'second'], [1, 'first']]);
    expect(log.filter((line) => line.startsWith('kd:eb'))).toEqual(['kd:eb 00001001 02', 'kd:eb 00001000 00 00']);
    expect([session.bytes.get(0x1000), session.bytes.get(0x1001)]).toEqual([0, 0]);
    expect(memory.pending()).toEqual([]);
    expect(loadPendingUndo(files.dir)).toEqual([]);
    const lines = readFileSync(join(files.dir, 'undo.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { event: string; seq: number });
    expect(lines.map((line) => `${line.event}:${line.seq}`)).toEqual(['write:1', 'write:2', 'restored:2', 'restored:1']);
  });

  test('a crashed run leaves its pending writes for the next one to restore', async () => {
    const log: string[] = [];
    const session = new MemorySession(log);
    session.bytes.set(0x2000, 0x55);
    const files = runFiles(log);
    await createTargetMemory(session, files, 's').write('2000', [0xaa], 'patch');
    // A line cut by the crash at the end of the log is ignored.
    writeFileSync(join(files.dir, 'undo.jsonl'), '{"event":"write","seq":', { flag: 'a' });
    const pending = loadPendingUndo(files.dir);
    expect(pending).toMatchObject([{ seq: 1, address: '00002000', original: [0x55], written: [0xaa] }]);
    const next = createTargetMemory(session, runFiles(log), 's2', { pending });
    await next.restore();
    expect(session.bytes.get(0x2000)).toBe(0x55);
  });

  test('kd error replies become MEMORY_ACCESS_FAILED and nothing is written', async () => {
    const log: string[] = [];
    const session = new MemorySession(log);
    session.execute = async (command) => ({ command, output: "Memory access error at 'nt!Missing'", complete: true, durationMs: 0 });
    const memory = createTargetMemory(session, runFiles(log), 's');
    await expect(memory.write('nt!Missing', [1], 'x')).rejects.toMatchObject({ code: 'MEMORY_ACCESS_FAILED' });
    expect(memory.pending()).toEqual([]);
  });

  test.each([
    'nt!PoolHitTag; g',
    "nt!PoolHitTag'",
    'nt!PoolHitTag\ng',
    '820f2ba4 L100',
    '',
    '.shell calc',
    'nt!PoolHitTag "x"',
  ])('refuses to put %j into a command', async (address) => {
    const log: string[] = [];
    const memory = createTargetMemory(new MemorySession(log), runFiles(log), 's');
    await expect(memory.read(address, 4)).rejects.toMatchObject({ code: 'UNSAFE_VALUE' });
    await expect(memory.write(address, [1], 'x')).rejects.toMatchObject({ code: 'UNSAFE_VALUE' });
    expect(log).toEqual([]);
  });

  test('accepts addresses and symbol expressions kd prints and takes', () => {
    for (const address of ['820f2ba4', 'fffff800`02c438e8', '0xfffff80002c438e8', 'nt!PoolHitTag', 'abcflt!AbcAllocateContext+0x2a', 'Sample!DriverEntry+27']) {
      expect(validateAddress(address)).toBe(address);
    }
  });

  test('refuses bad byte values and lengths', async () => {
    const log: string[] = [];
    const memory = createTargetMemory(new MemorySession(log), runFiles(log), 's');
    await expect(memory.write('1000', [256], 'x')).rejects.toMatchObject({ code: 'UNSAFE_VALUE' });
    await expect(memory.write('1000', [], 'x')).rejects.toMatchObject({ code: 'UNSAFE_VALUE' });
    await expect(memory.read('1000', 0)).rejects.toMatchObject({ code: 'UNSAFE_VALUE' });
    expect(log).toEqual([]);
  });
});
