// Run limits (src/debuggers/run-limit.ts): a wait that ends in a break-in runs the simulator's
// target for exactly the limit in target time, however the host's time goes; against a console
// without the side channel (kd) the limit is a host timer. Every wait here ends on an event (the
// simulator's notice, the break-in's prompt), never on a measured time.
import { beforeAll, describe, expect, test } from 'vitest';
import type { ConsoleChannel } from '../../src/debuggers/channel.js';
import { KdConsoleSession } from '../../src/debuggers/kd-console.js';
import { ProcessChannel } from '../../src/debuggers/process-channel.js';
import { readRunLimitLine, runLimitLine } from '../../src/debuggers/run-limit.js';
import { parseVertarget } from '../../src/kd/vertarget.js';
import { createInProcessChannel, type InProcessChannelOptions } from '../../src/sim/in-process.js';
import { createKernel } from '../../src/sim/kernel/index.js';
import { scenarioForProfile } from '../../src/sim/scenario.js';
import { buildSimCli, SIM_ENTRY } from '../sim/process-helpers.js';

// A session over an in-process simulator of the Windows 7 x64 profile's default leak.
async function simSession(options: InProcessChannelOptions = {}): Promise<{ session: KdConsoleSession; channel: ReturnType<typeof createInProcessChannel> }> {
  const scenario = scenarioForProfile('win7-sp1-x64');
  const channel = createInProcessChannel(createKernel(scenario, { seed: scenario.seed }), { timeScale: 1000, ...options });
  const session = await KdConsoleSession.open(channel, { commandTimeoutMs: 20_000, connectTimeoutMs: 20_000 });
  return { session, channel };
}

// The target's uptime in seconds (vertarget).
async function uptime(session: KdConsoleSession): Promise<number> {
  const seconds = parseVertarget((await session.execute('vertarget')).output).uptime;
  if (seconds === undefined) throw new Error('vertarget shows no uptime');
  return seconds;
}

// Let the target run under a limit: the wait must end on the limit, then break in.
async function runLimited(session: KdConsoleSession, ms: number): Promise<void> {
  session.limitRun(ms);
  await session.resume('g');
  const error = await session.waitForBreak().then(() => undefined, (reason: unknown) => reason as { code?: string });
  expect(error?.code).toBe('RUN_LIMIT_REACHED');
  const stop = await session.breakIn({ timeoutMs: 20_000 });
  expect(stop.kind).toBe('break-in');
  session.limitRun(undefined);
}

// Keep the host busy (the event loop blocked), as a loaded machine would.
function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

describe('run limits on the simulator (target time)', () => {
  test('the side-channel lines read back as written, and anything else is not one', () => {
    expect(readRunLimitLine(runLimitLine(1500).trimEnd())).toEqual({ ms: 1500 });
    expect(readRunLimitLine(runLimitLine(undefined).trimEnd())).toBe('off');
    expect(readRunLimitLine('limit 1500')).toBeUndefined();
    expect(readRunLimitLine('\u001elimit soon')).toBeUndefined();
  });

  test('the target runs exactly limit × time scale, and the pool it leaves is the same however slices and host load go', async () => {
    const outcomes: { ran: number; pool: string }[] = [];
    for (const [sliceMs, load] of [[2, 0], [25, 0], [2, 150]] as const) {
      const { session } = await simSession({ sliceMs });
      const before = await uptime(session);
      session.limitRun(3000);
      await session.resume('g');
      busy(load);
      const error = await session.waitForBreak().then(() => undefined, (reason: unknown) => reason as { code?: string });
      expect(error?.code).toBe('RUN_LIMIT_REACHED');
      await session.breakIn({ timeoutMs: 20_000 });
      session.limitRun(undefined);
      const ran = (await uptime(session)) - before;
      const pool = (await session.execute('!poolused 2')).output;
      outcomes.push({ ran, pool });
      await session.close({ resume: false });
    }
    // 3000 host ms at 1000 target ms each: 50 target minutes, to vertarget's millisecond.
    expect(outcomes[0]!.ran).toBeCloseTo(3000, 2);
    expect(outcomes[1]).toEqual(outcomes[0]);
    expect(outcomes[2]).toEqual(outcomes[0]);
  });

  test('a limit set again while one is in force only narrows it, and lifting it lets the target run free', async () => {
    const { session } = await simSession();
    const start = await uptime(session);
    session.limitRun(2000);
    session.limitRun(5000);
    await runLimited(session, 500);
    expect((await uptime(session)) - start).toBeCloseTo(500, 2);
    await session.close({ resume: false });
  });

  test('a break-in before the limit (Ctrl+C, a step aborted) stops the target at once, short of the limit', async () => {
    const { session } = await simSession();
    const start = await uptime(session);
    session.limitRun(24 * 3600 * 1000);
    await session.resume('g');
    const stop = await session.breakIn({ timeoutMs: 20_000 });
    expect(stop.kind).toBe('break-in');
    session.limitRun(undefined);
    expect((await uptime(session)) - start).toBeLessThan(24 * 3600 * 1000);
    await session.close({ resume: false });
  });
});

describe('run limits against a console without the side channel (kd)', () => {
  test('the limit is a host timer: the wait ends with RUN_LIMIT_REACHED and nothing is sent to the console', async () => {
    const scenario = scenarioForProfile('winxp-sp3-x86');
    const inner = createInProcessChannel(createKernel(scenario, { seed: scenario.seed }), { timeScale: 10 });
    const sent: string[] = [];
    // The same console, seen as kd is: no run-limit link.
    const channel: ConsoleChannel = {
      write: (text) => {
        sent.push(text);
        inner.write(text);
      },
      onData: (listener) => inner.onData(listener),
      onExit: (listener) => inner.onExit(listener),
      interrupt: () => inner.interrupt(),
      end: () => inner.end(),
    };
    const session = await KdConsoleSession.open(channel, { commandTimeoutMs: 20_000, connectTimeoutMs: 20_000 });
    await runLimited(session, 30);
    expect(sent.join('')).not.toContain('\u001e');
    await session.close({ resume: false });
  });
});

describe('run limits through the simulator process', () => {
  beforeAll(() => buildSimCli(), 120_000);

  test('the process keeps the limit in target time, and its notice never shows as the console\'s stderr', async () => {
    const channel = new ProcessChannel(process.execPath, [SIM_ENTRY, 'sim', '--profile', 'win7-sp1-x64', '--time-scale', '600'], { runLimits: true });
    const session = await KdConsoleSession.open(channel, { commandTimeoutMs: 20_000, connectTimeoutMs: 20_000 });
    const start = await uptime(session);
    await runLimited(session, 2000);
    await runLimited(session, 1000);
    // 3000 host ms at 600 target ms each: 30 target minutes.
    expect((await uptime(session)) - start).toBeCloseTo(1800, 2);
    expect(channel.stderr).not.toContain('reached');
    await session.close({ resume: false });
  }, 60_000);
});
