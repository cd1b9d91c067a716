// ctx.kd against the simulator: kd's error replies become coded errors, replies are parsed by
// the kind their command calls for, and `!poolused` without tags says why (tagging or symbols).
import { afterEach, describe, expect, test } from 'vitest';
import { defineProvider } from '../../src/api/plugin.js';
import { isKdCommandError } from '../../src/api/plugin.js';
import type { KdCommandOptions, StepContext } from '../../src/api/plugin.js';
import { openBench, type Bench } from '../plugins/harness.js';
import { reload } from '../../plugins/symbols/index.js';
import { bindKdCommand } from '../../src/core/kd-command.js';
import { factsForOs } from '../../src/core/versions.js';
import { FakeDebuggerSession } from '../../src/debuggers/fake.js';

let bench: Bench | undefined;
afterEach(async () => {
  await bench?.close();
  bench = undefined;
});

// A provider that sends one command through ctx.kd and returns what it got (or the error it threw).
const probe = defineProvider<{ command: string; options?: KdCommandOptions }>({
  uses: 'test.kd',
  id: 'probe',
  description: 'send one command through ctx.kd',
  with: { type: 'object', additionalProperties: false, properties: { command: { type: 'string' }, options: { type: 'object' } } },
  outputs: { reply: { description: 'the reply' } },
  async run(params, ctx: StepContext) {
    const reply = await ctx.kd(params.command, params.options);
    return { status: 'ok', outputs: { reply } };
  },
});

// Run the probe; resolves to the reply, rejects with what ctx.kd threw.
async function send(command: string, options?: KdCommandOptions): Promise<Record<string, any>> {
  const outcome = await bench!.run(probe, { command, ...(options && { options }) });
  return outcome.outputs!.reply as Record<string, any>;
}

describe('ctx.kd', () => {
  test('parses the reply by the kind its command calls for', async () => {
    bench = await openBench({ profile: 'winxp-sp3-x86', taggingOn: true });
    const poolused = await send('!poolused 4');
    expect(poolused.kind).toBe('poolused');
    expect(poolused.parsed.rows.length).toBeGreaterThan(3);
    expect(poolused.parsed.rows[0]).toMatchObject({ tag: expect.any(String) });
    const dwords = await send('dd nt!PoolHitTag L1');
    expect(dwords).toMatchObject({ kind: 'dd', parsed: { values: ['ffffff0f'] } });
    const raw = await send('dd nt!PoolHitTag L1', { parse: false });
    expect(raw.kind).toBeUndefined();
    expect(raw.parsed).toBeUndefined();
    expect(raw.output).toMatch(/ffffff0f/);
    const asked = await send('dd nt!PoolHitTag L1', { parse: 'memory' });
    expect(asked.kind).toBe('memory');
  });

  test("turns kd's error reply into KD_COMMAND_FAILED with the reply's kind and subject", async () => {
    bench = await openBench({ profile: 'win7-sp1-x64' });
    const error = await send('dd nt!NoSuchSymbol L1').catch((e: unknown) => e);
    expect(isKdCommandError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'KD_COMMAND_FAILED', step: 'test.kd', kdReply: { kind: 'resolve', subject: 'nt!NoSuchSymbol L1' }, hint: expect.stringMatching(/symbols/) });
  });

  test('a !poolused without tags fails with POOL_TAGS_UNAVAILABLE and says tagging is off in this boot', async () => {
    bench = await openBench({ profile: 'winxp-sp3-x86' });
    expect(bench.facts.pool.taggingEnabled).toBe(false);
    await expect(send('!poolused 4')).rejects.toMatchObject({ code: 'POOL_TAGS_UNAVAILABLE', hint: expect.stringMatching(/pool tagging is off in this boot/) });
  });

  test('output its parser cannot read is KD_OUTPUT_UNREADABLE', async () => {
    bench = await openBench({ profile: 'win7-sp1-x64' });
    await expect(send('vertarget', { parse: 'stack' })).rejects.toMatchObject({ code: 'KD_OUTPUT_UNREADABLE' });
  });
});

describe('a plugin naming kd failures its own way', () => {
  // symbols.reload against a target whose nt has no symbols: the probe's error reply becomes the plugin's code.
  test('symbols.reload turns the probe\'s KD_COMMAND_FAILED into NT_SYMBOLS_MISSING, and .reload\'s into RELOAD_FAILED', async () => {
    const facts = factsForOs('win7');
    const run = async (replies: Record<string, string>) => {
      const session = new FakeDebuggerSession({ replies });
      const step = { id: 'symbols', uses: 'symbols.reload', location: { file: 'p.yaml', line: 1, column: 1 } };
      const ctx = {
        step,
        facts,
        session,
        kd: bindKdCommand({ session, signal: new AbortController().signal, step, facts }),
        fail(code: string, message: string): never {
          throw Object.assign(new Error(message), { code });
        },
      } as unknown as StepContext;
      return reload.run({}, ctx);
    };
    await expect(run({ '.reload /f': '', 'dd nt!PoolHitTag L1': "Couldn't resolve error at 'nt!PoolHitTag L1'" })).rejects.toMatchObject({ code: 'NT_SYMBOLS_MISSING', message: expect.stringMatching(/Couldn't resolve error at 'nt!PoolHitTag L1'/) });
    await expect(run({ '.reload /f': "Syntax error in '.reload /f'", 'dd nt!PoolHitTag L1': '' })).rejects.toMatchObject({ code: 'RELOAD_FAILED' });
    const ok = await run({ '.reload /f': '', 'dd nt!PoolHitTag L1': '8055a6b0  ffffff0f' });
    expect(ok.outputs).toMatchObject({ ntSymbols: true, poolHitTagAddress: '8055a6b0' });
  });
});
