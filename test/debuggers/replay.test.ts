import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parseDd } from '../../src/kd/memory.js';
import { parseStack } from '../../src/kd/stack.js';
import { ReplaySession } from '../../src/debuggers/replay.js';
import { readTranscript } from '../../src/debuggers/transcript.js';

const recording = fileURLToPath(new URL('../fixtures/replay/win7-x86-poolhittag.jsonl', import.meta.url));

// The transcript part of a fixture file (after its `# ---` header line).
function fixtureBody(name: string): string {
  const text = readFileSync(fileURLToPath(new URL(`../fixtures/kd/${name}`, import.meta.url)), 'utf8');
  return text.slice(text.indexOf('\n# ---\n') + 7);
}

describe('replay of a transcript assembled from real kd output', () => {
  test('every recorded output is real: it appears verbatim in the fixture it names', () => {
    const entries = readTranscript(recording) as Array<ReturnType<typeof readTranscript>[number] & { source?: string }>;
    const sourced = entries.filter((entry) => entry.source !== undefined);
    expect(sourced.length).toBe(5);
    for (const entry of sourced) expect(fixtureBody(entry.source!)).toContain(entry.output!);
  });

  test('plays the PoolHitTag hunt back: same calls, same answers', async () => {
    const session = ReplaySession.fromFile(recording);
    expect(session.transport).toBe('replay');
    expect(session.recordedTransport).toBe('kd-console');
    expect(session.banner).toContain('Connected to Windows 7 7601 x86 compatible target');
    expect((await session.execute("ed nt!PoolHitTag 'dcba'")).output).toBe('');
    const dd = await session.execute('dd nt!PoolHitTag l1');
    expect(parseDd(dd.output)).toMatchObject({ address: '82b37df4', values: ['64636261'] });
    await session.resume('g');
    expect(session.running).toBe(true);
    const stop = await session.waitForBreak();
    expect(stop).toMatchObject({ kind: 'breakpoint', prompt: '1: kd> ' });
    expect(stop.output).toContain('nt!ExAllocatePoolWithTag+0x881:');
    expect(session.running).toBe(false);
    const stack = parseStack((await session.execute('kvn')).output);
    expect(stack.frames).toHaveLength(10);
    expect(stack.frames[4]).toMatchObject({ index: 4, module: 'Sample', function: 'DriverEntry', offset: 0x27 });
    await session.close();
    expect(session.remaining).toBe(0);
  });

  test('a command that differs from the recording stops with REPLAY_DIVERGED naming it', async () => {
    const session = ReplaySession.fromFile(recording);
    await session.execute("ed nt!PoolHitTag 'dcba'");
    const error = await session.execute('dd nt!PoolHitTag L1').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REPLAY_DIVERGED', index: 1, expected: 'dd nt!PoolHitTag l1', got: 'dd nt!PoolHitTag L1' });
    expect((error as Error).message).toContain('exchange #2');
  });

  test('asking for a break where the recording has a command, or past its end, diverges too', async () => {
    const session = ReplaySession.fromFile(recording);
    await expect(session.resume('g')).rejects.toMatchObject({ code: 'REPLAY_DIVERGED', index: 0, expected: "ed nt!PoolHitTag 'dcba'", got: 'g' });
    const full = ReplaySession.fromFile(recording);
    await full.execute("ed nt!PoolHitTag 'dcba'");
    await full.execute('dd nt!PoolHitTag l1');
    await full.resume('g');
    await full.waitForBreak();
    await full.execute('kvn');
    await expect(full.execute('!poolused 4')).rejects.toMatchObject({ code: 'REPLAY_DIVERGED', index: 5, expected: '<end of transcript>', got: '!poolused 4' });
  });

  test('a damaged transcript is TRANSCRIPT_INVALID with file and line', () => {
    const bad = fileURLToPath(new URL('../fixtures/replay/damaged.jsonl', import.meta.url));
    expect(() => ReplaySession.fromFile(bad)).toThrow(expect.objectContaining({ code: 'TRANSCRIPT_INVALID', message: expect.stringContaining('damaged.jsonl:2:1') }));
  });
});
