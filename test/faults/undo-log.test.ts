// The undo log as a fault leaves it: a device in its place is refused at once (a link to
// /dev/zero was read for ever, the next run grew to 10 GB), and a restore whose log line cannot
// be written still counts; recovery puts back only the bytes a run wrote.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { findPendingRuns, recoverPendingWrites, reusableSteps, writesUndoneByCleanup } from '../../src/core/resume.js';
import { loadPendingUndo } from '../../src/core/undo-log.js';
import { createTargetMemory } from '../../src/debuggers/memory.js';
import type { CommandResult, DebuggerSession, RunFiles, StepResult } from '../../src/core/types.js';

// A halted target with a byte array behind `db` and `eb`, as kd prints and takes them.
function byteTarget(initial: Record<number, number[]>): DebuggerSession & { bytes: Map<number, number> } {
  const bytes = new Map<number, number>();
  for (const [address, values] of Object.entries(initial)) values.forEach((b, i) => bytes.set(Number(address) + i, b));
  const session = {
    bytes,
    transport: 'test',
    running: false,
    async execute(command: string): Promise<CommandResult> {
      const eb = /^eb (\w+) (.+)$/.exec(command);
      if (eb) {
        eb[2]!.split(' ').forEach((b, i) => bytes.set(Number.parseInt(eb[1]!, 16) + i, Number.parseInt(b, 16)));
        return { command, output: '', complete: true, durationMs: 0 };
      }
      const db = /^db (\w+) L0x(\w+)$/.exec(command)!;
      const start = Number.parseInt(db[1]!, 16);
      const length = Number.parseInt(db[2]!, 16);
      const row = Array.from({ length }, (_, i) => (bytes.get(start + i) ?? 0).toString(16).padStart(2, '0')).join(' ');
      return { command, output: `${start.toString(16).padStart(8, '0')}  ${row}`, complete: true, durationMs: 0 };
    },
    async resume() {},
    async waitForBreak() {
      return { kind: 'break-in' as const, output: '' };
    },
    async breakIn() {
      return { kind: 'break-in' as const, output: '' };
    },
    async close() {},
  };
  return session as unknown as DebuggerSession & { bytes: Map<number, number> };
}

// RunFiles over a real folder whose appends can be made to fail.
function folderFiles(dir: string, failing = false): RunFiles {
  return {
    dir,
    appendJsonLine(file, value) {
      if (failing) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      writeFileSync(join(dir, file), `${JSON.stringify(value)}\n`, { flag: 'a' });
    },
    writeJson(file, value) {
      writeFileSync(join(dir, file), JSON.stringify(value));
    },
  };
}

const hitTagWrite = { seq: 1, address: '804da000', original: [0x0f, 0xff, 0xff, 0xff], written: [0x58, 0x79, 0x7a, 0x20], purpose: 'PoolHitTag', step: 'hit-tag' };

describe('undo log under faults', () => {
  test('an undo log that is a device is refused at once, not read for ever', () => {
    const dir = mkdtempSync(join(tmpdir(), 'leakhunt-undo-dev-'));
    symlinkSync('/dev/zero', join(dir, 'undo.jsonl'));
    const started = Date.now();
    expect(() => loadPendingUndo(dir)).toThrow(/not a regular file/);
    expect(Date.now() - started).toBeLessThan(1000);
    const unreadable: string[] = [];
    expect(findPendingRuns({ runDir: dir, target: 'sim:', onUnreadable: (d) => unreadable.push(d) })).toEqual([]);
    expect(unreadable).toEqual([dir]);
  });

  test('a restore whose "restored" line cannot be written still puts the bytes back and succeeds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leakhunt-undo-full-'));
    const target = byteTarget({ 0x804da000: [0x58, 0x79, 0x7a, 0x20] });
    const memory = createTargetMemory(target, folderFiles(dir, true), 'clear', { pending: [hitTagWrite] });
    await expect(memory.restore()).resolves.toHaveLength(1);
    expect([0, 1, 2, 3].map((i) => target.bytes.get(0x804da000 + i))).toEqual([0x0f, 0xff, 0xff, 0xff]);
    expect(memory.pending()).toEqual([]);
  });

  test('recovery undoes what the earlier run wrote, closes what is already back, leaves unknown bytes alone', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'leakhunt-recover-'));
    const earlier = join(parent, 'earlier');
    const patch = { seq: 2, address: '8100a01c', original: [0x41], written: [0x31], purpose: 'retag', step: 'retag' };
    const foreign = { seq: 3, address: '8100b01c', original: [0x41], written: [0x32], purpose: 'retag', step: 'retag' };
    mkdirSync(earlier);
    const files = folderFiles(earlier);
    for (const record of [hitTagWrite, patch, foreign]) files.appendJsonLine('undo.jsonl', { event: 'write', ...record });
    files.writeJson('run.json', { playbook: 'p.yaml', inputs: [], target: 'kd:-k net:port=1,key=***', plugins: [], startedAt: new Date().toISOString() });
    // PoolHitTag still set; the first patch already gone (a reboot); the second site holds neither value.
    const target = byteTarget({ 0x804da000: [0x58, 0x79, 0x7a, 0x20], 0x8100a01c: [0x41], 0x8100b01c: [0x99] });
    const runs = findPendingRuns({ runDir: join(parent, 'now'), target: 'kd:-k net:port=1,key=SECRET' });
    expect(runs.map((r) => [r.dir, r.records.length])).toEqual([[earlier, 3]]);
    const result = await recoverPendingWrites(runs, (run) => createTargetMemory(target, folderFiles(run.dir), 'recover', { pending: run.records }));
    expect(result.restored.map((r) => r.record.seq)).toEqual([1]);
    expect(result.alreadyBack.map((r) => r.record.seq)).toEqual([2]);
    expect(result.leftAlone.map((r) => [r.record.seq, r.found])).toEqual([[3, [0x99]]]);
    expect(target.bytes.get(0x8100b01c)).toBe(0x99);
    expect([0, 1, 2, 3].map((i) => target.bytes.get(0x804da000 + i))).toEqual([0x0f, 0xff, 0xff, 0xff]);
    expect(loadPendingUndo(earlier).map((r) => r.seq)).toEqual([3]);
    // A run against another target is not searched.
    expect(findPendingRuns({ runDir: join(parent, 'now'), target: 'sim:' })).toEqual([]);
  });

  test('resume re-runs a step whose writes cleanup undid, not one whose writes a main step undid', () => {
    const dir = mkdtempSync(join(tmpdir(), 'leakhunt-resume-rule-'));
    const files = folderFiles(dir);
    files.appendJsonLine('undo.jsonl', { event: 'write', ...hitTagWrite });
    files.appendJsonLine('undo.jsonl', { event: 'restored', seq: 1, address: hitTagWrite.address, ts: '', step: 'clear-hit-tag' });
    const ids = ['rank', 'hit-tag', 'collect', 'unset-hit-tag', 'retag'];
    const ok: StepResult = { status: 'ok', outputs: {} };
    const finished = new Map<string, StepResult>(ids.slice(0, 3).map((id) => [id, ok]));
    // Interrupted during unset-hit-tag: cleanup (clear-hit-tag) undid PoolHitTag, so hit-tag runs again; collect is reused.
    expect([...reusableSteps(ids, finished, writesUndoneByCleanup(dir, new Set(ids))).keys()]).toEqual(['rank', 'collect']);
    // Interrupted during retag, after unset-hit-tag (a main step) undid it: nothing before retag runs again.
    const dir2 = mkdtempSync(join(tmpdir(), 'leakhunt-resume-rule-'));
    folderFiles(dir2).appendJsonLine('undo.jsonl', { event: 'write', ...hitTagWrite });
    folderFiles(dir2).appendJsonLine('undo.jsonl', { event: 'restored', seq: 1, address: hitTagWrite.address, ts: '', step: 'unset-hit-tag' });
    finished.set('unset-hit-tag', ok);
    expect([...reusableSteps(ids, finished, writesUndoneByCleanup(dir2, new Set(ids))).keys()]).toEqual(['rank', 'hit-tag', 'collect', 'unset-hit-tag']);
  });
});
