import { describe, expect, test } from 'vitest';
import { parseDb, parseDd } from '../../src/kd/memory.js';
import { parseKdError } from '../../src/kd/errors.js';
import { parseStack } from '../../src/kd/stack.js';
import { parseSxArguments, splitCommands, splitJBranches } from '../../src/sim/console/command-line.js';
import { KdConsole } from '../../src/sim/console/console.js';
import { type EvalContext, ExpressionError, evaluate, evaluatePrefix } from '../../src/sim/console/expression.js';
import { createStubKernel } from './stub-kernel.js';

// A console on the stub kernel, connected, with the prompt stripped from each answer.
function open(profile = 'winxp-sp3-x86', globalFlag = 0x400) {
  const kernel = createStubKernel(profile, { globalFlag });
  const console = new KdConsole(kernel, { poolfindMsPer1000Blocks: 0 });
  const banner = console.connect().text;
  const run = (line: string) => {
    const output = console.execute(line);
    return output.state === 'halted' ? output.text.slice(0, -console.prompt().length) : output.text;
  };
  return { kernel, console, banner, run };
}

const context: EvalContext = {
  pointerSize: 4,
  resolveSymbol: (name) => (name.toLowerCase() === 'nt!poolhittag' ? 0x820f2ba4n : undefined),
  register: (name) => ({ eax: 0x10n, $t0: 5n } as Record<string, bigint>)[name],
  readMemory: (address, length) => (address === 0x820f2ba4n ? new Uint8Array([0x41, 0x62, 0x63, 0x20]).slice(0, length) : undefined),
};

describe('MASM expressions', () => {
  test.each([
    ["' cbA'", 0x20636241n],
    ["'dcba'", 0x64636261n],
    ['0n100', 100n],
    ['10', 0x10n],
    ['0x1f+1', 0x20n],
    ['1fh', 0x1fn],
    ['fffff800`12345678', 0xfffff80012345678n],
    ['2+3*4', 14n],
    ['(2+3)*4', 20n],
    ['nt!PoolHitTag+4', 0x820f2ba8n],
    ['poi(nt!poolhittag)', 0x20636241n],
    ['@eax*2', 0x20n],
    ['@$t0 < 0n100', 1n],
    ['@$t0 >= 0n100', 0n],
    ['@$t0 == 5', 1n],
    ['-1', 0xffffffffffffffffn],
    ['0y101', 5n],
  ])('%s = %s', (text, value) => {
    expect(evaluate(text, context)).toBe(value);
  });

  test('a prefix stops where the expression ends: `rcx + 0x98 L2`', () => {
    const parsed = evaluatePrefix('@eax + 0x98 L2', 0, context);
    expect(parsed.value).toBe(0xa8n);
    expect('@eax + 0x98 L2'.slice(parsed.end)).toBe('L2');
  });

  test('unknown symbols and unreadable memory fail in kd words', () => {
    expect(() => evaluate('nt!Nope', context)).toThrow("Couldn't resolve error at 'nt!Nope'");
    expect(() => evaluate('poi(0)', context)).toThrow(ExpressionError);
    expect(() => evaluate('2+', context)).toThrow(/Syntax error/);
  });
});

describe('command lines', () => {
  test('semicolons split commands except inside quotes', () => {
    expect(splitCommands('kb 20; r @$t0; .echo "a;b"')).toEqual(['kb 20', 'r @$t0', '.echo "a;b"']);
  });

  test('j keeps the rest of the line, and its branches follow quotes', () => {
    expect(splitCommands("kb; j (@$t0 < 3) 'r @$t0=@$t0+1; g' ; '.echo done'")).toEqual([
      'kb', "j (@$t0 < 3) 'r @$t0=@$t0+1; g' ; '.echo done'",
    ]);
    expect(splitJBranches(" 'r @$t0=@$t0+1; g' ; '.echo done'")).toEqual({ whenTrue: 'r @$t0=@$t0+1; g', whenFalse: '.echo done' });
    expect(splitJBranches(" r eax ; r ebx")).toEqual({ whenTrue: 'r eax', whenFalse: 'r ebx' });
    expect(splitJBranches(" ''; 'r ebx; r ecx'")).toEqual({ whenTrue: '', whenFalse: 'r ebx; r ecx' });
  });

  test('sx arguments: -c command, status and event', () => {
    expect(parseSxArguments('sxe', '-c "kb 20; g" bpe')).toEqual({ status: 'break', command: 'kb 20; g', handling: false, event: 'bpe' });
    expect(parseSxArguments('sxi', 'bpe')?.status).toBe('ignore');
    expect(parseSxArguments('sxe', '-c kb bpe')).toBeUndefined();
  });
});

describe('console on the stub kernel', () => {
  test('prompt: kd> on a uniprocessor profile, 0: kd> on a multiprocessor one', () => {
    expect(open('winxp-sp3-x86').console.prompt()).toBe('kd> ');
    expect(open('win10-22h2-x64').console.prompt()).toBe('0: kd> ');
    expect(open('winxp-sp3-x86').banner.endsWith('\nkd> ')).toBe(true);
  });

  test("ed nt!poolhittag ' cbA' stores Abc little-endian; db and dd read it back", () => {
    const { kernel, run } = open();
    expect(run("ed nt!poolhittag ' cbA'")).toBe('');
    expect(kernel.poolHitTag()).toBe(0x20636241);
    const db = parseDb(run('db nt!poolhittag L4'));
    expect(db).toMatchObject({ address: '804d8000', bytes: [0x41, 0x62, 0x63, 0x20], ascii: 'Abc ', complete: true });
    expect(parseDd(run('dd nt!PoolHitTag l1')).values).toEqual(['20636241']);
    expect(run('ed nt!poolhittag 0')).toBe('');
    expect(kernel.poolHitTag()).toBe(0);
  });

  test('eb patches a code byte; the kernel reports it as patched', () => {
    const { kernel, run } = open();
    run('eb abcflt!AbcAllocateContext+0x13 31');
    expect(kernel.patchedBytes()).toEqual([{ address: 0xf7a11013n, original: 0x63, current: 0x31 }]);
    expect(run('u abcflt!AbcAllocateContext+0x10 L1')).toContain('push    20316241h');
  });

  test('unknown commands, extensions and symbols print what kd prints', () => {
    const { run } = open();
    expect(run('frobnicate 1')).toBe("    ^ Syntax error in 'frobnicate 1'\n");
    expect(parseKdError(run('frobnicate 1'))?.kind).toBe('syntax');
    expect(run('!nosuch')).toBe('No export nosuch found\n');
    expect(parseKdError(run('dd nt!Nope L1'))).toMatchObject({ kind: 'resolve', subject: 'nt!Nope L1' });
  });

  test('r and pseudo-registers: r @$t0=…, arithmetic on them', () => {
    const { run } = open();
    expect(run('r @$t0=0n41')).toBe('');
    expect(run('r @$t0=@$t0+1; r @$t0')).toBe('$t0=0000002a\n');
    expect(run('? @$t0*2')).toBe('Evaluate expression: 84 = 00000054\n');
    expect(run('.echo hello; .echo "a;b"')).toBe('hello\na;b\n');
  });

  test('PoolHitTag break on alloc with the allocator frames, kb parses to the kernel stack', () => {
    const { kernel, console, run } = open();
    run("ed nt!poolhittag ' cbA'");
    expect(console.execute('g').state).toBe('running');
    const stop = console.run(1000);
    expect(stop.state).toBe('halted');
    expect(stop.text).toMatch(/^Break instruction exception - code 80000003 \(first chance\)\nnt!ExAllocatePoolWithTag\+0x81:\n804d9081 cc {14}int {5}3\nkd> $/);
    const stack = parseStack(run('kb'));
    const frames = kernel.currentStop()?.stack ?? [];
    expect(stack.frames.map((frame) => `${frame.module}!${frame.function}+${frame.offset}`)).toEqual(
      frames.map((frame) => `${frame.module}!${frame.function}+${frame.offset}`),
    );
    expect(stack.frames[0].retAddr).toBe(frames[1].address.toString(16));
    expect(stack.frames[0].args).toEqual(['00000001', '000003a4', '20636241']);
    expect(run('gu')).toBe('abcflt!AbcAllocateContext+0x1f:\nf7a1101f 00              ???\n');
  });

  test('sxe -c "kb; j …" runs per-hit commands in kd and continues until the condition fails', () => {
    const { console, run } = open('win10-22h2-x64');
    run("ed nt!poolhittag ' cbA'");
    run('r @$t0=0');
    run(`sxe -c "kb 3; j (@$t0 < 0n4) 'r @$t0=@$t0+1; g' ; '.echo done'" bpe`);
    expect(console.execute('g').state).toBe('running');
    let text = '';
    for (let slice = 0; slice < 50 && console.currentState === 'running'; slice++) text += console.run(100).text;
    expect(console.currentState).toBe('halted');
    expect(text.match(/Break instruction exception/g)).toHaveLength(5);
    expect(text.match(/ # RetAddr {15}: Args to Child/g)).toHaveLength(5);
    expect(text.endsWith('done\n0: kd> ')).toBe(true);
    expect(run('r @$t0')).toBe('$t0=0000000000000004\n');
  });

  test('sxi bpe: PoolHitTag matches no longer stop the target, the -c command still runs', () => {
    const { console, run } = open();
    run("ed nt!poolhittag ' cbA'");
    run('sxi -c "r @$t0=@$t0+1" bpe');
    console.execute('g');
    const output = console.run(1000);
    expect(output.state).toBe('running');
    expect(output.text).toBe('');
    console.interrupt();
    // 1000 ms of the stub: 20 allocations (every 50 ms) and 10 frees (500 ms after each), all tagged Abc.
    expect(run('r @$t0')).toBe(`$t0=${(30).toString(16).padStart(8, '0')}\n`);
  });

  test('break-in: the Ctrl+C box, then the prompt', () => {
    const { console } = open();
    console.execute('g');
    expect(console.run(10).state).toBe('running');
    const output = console.interrupt();
    expect(output.state).toBe('halted');
    expect(output.text).toContain('*   You are seeing this message because you pressed either                    *');
    expect(output.text).toMatch(/nt!RtlpBreakWithStatusInstruction:\n[0-9a-f]{8} cc {14}int {5}3\nkd> $/);
  });

  test('.reboot prints shutdown, reconnect and the banner, and the kernel reboots', () => {
    const { kernel, run } = open();
    run("ed nt!poolhittag ' cbA'");
    const text = run('.reboot');
    expect(text).toMatch(/^Shutdown occurred at \(Tue Mar {2}5 09:30:00\.000 2024 \(UTC \+ 0:00\)\)\.\.\.unloading all symbol tables\.\nWaiting to reconnect\.\.\.\n/);
    expect(text).toContain('Connected to Windows XP 2600 x86 compatible target at (Tue Mar  5 10:30:00.000 2024 (UTC + 0:00)), ptr64 FALSE\n');
    expect(text).toContain('Kernel Debugger connection established.  (Initial Breakpoint requested)\n');
    expect(kernel.bootCount()).toBe(2);
    expect(kernel.poolHitTag()).toBe(0xffffff0f);
  });

  test('!poolused filters tags with wildcards; !poolfind takes time in proportion to the pool, bounded', () => {
    const kernel = createStubKernel('win7-sp1-x86', { globalFlag: 0 });
    const console = new KdConsole(kernel, { poolfindMsPer1000Blocks: 1000, poolfindMaxDelayMs: 5 });
    console.connect();
    console.execute('g');
    console.run(300);
    console.interrupt();
    expect(console.execute('!poolused 4 Ab?').text).toContain('\tUNKNOWN pooltag \'Abc \'');
    expect(console.execute('!poolused 4 Z*').text).not.toContain('Abc ');
    // 300 ms of the stub: 6 blocks outstanding → 6 ms at 1000 ms per 1000 blocks, capped at 5.
    expect(console.execute('!poolfind Abc 1').delayMs).toBe(5);
    const slower = new KdConsole(createStubKernel('win7-sp1-x86'), { poolfindMsPer1000Blocks: 500 });
    slower.connect();
    slower.execute('g');
    slower.run(300);
    slower.interrupt();
    expect(slower.execute('!poolfind Abc 1').delayMs).toBe(3);
  });

  test('sxe -c "" bpe clears the per-hit command', () => {
    const { console, run } = open();
    run("ed nt!poolhittag ' cbA'");
    run('sxe -c ".echo hit; g" bpe');
    run('sxe -c "" bpe');
    console.execute('g');
    const stop = console.run(1000);
    expect(stop.state).toBe('halted');
    expect(stop.text).not.toContain('hit');
  });

  test('q ends the session', () => {
    const { console } = open();
    expect(console.execute('q')).toEqual({ text: 'quit:\n', state: 'quit', delayMs: 0 });
  });
});

describe('an empty line repeats the last command, as kd does', () => {
  test('nothing typed yet: just the prompt again', () => {
    const { run } = open();
    expect(run('')).toBe('');
  });

  test('a command runs again', () => {
    const { run } = open();
    const first = run('vertarget');
    expect(first).toContain('Windows XP');
    expect(run('')).toBe(first);
  });

  test('db goes on with the next bytes, u with the next instructions', () => {
    const { run } = open();
    const bytes = run('db nt!PoolHitTag L8');
    const next = run('');
    const address = (text: string) => BigInt(`0x${text.trim().split(/\s+/)[0]!.replace('`', '')}`);
    expect(address(next) - address(bytes)).toBe(8n);
    const code = run('u nt!PoolHitTag L2').trim().split('\n');
    const more = run('').trim().split('\n');
    const first = (lines: string[]) => lines.find((line) => /^[0-9a-f`]{8,17} /.test(line))!;
    expect(first(more)).not.toBe(first(code));
    expect(more.filter((line) => /^[0-9a-f`]{8,17} /.test(line))).toHaveLength(2);
  });
});
