import { describe, expect, test } from 'vitest';
import { parseAuto } from '../../src/kd/auto.js';
import { KdParseError } from '../../src/kd/common.js';
import { parseDb, parseDc, parseDd, parseDq, parseMemory, type MemoryResult } from '../../src/kd/memory.js';
import { fixture } from './fixture-b.js';

// The parsed result of the n-th command of a log whose command starts with `prefix`.
function fromLog(name: string, prefix: string, nth = 0): MemoryResult {
  const entries = parseAuto(fixture(name)).entries.filter((entry) => entry.command.startsWith(prefix));
  return entries[nth].result as MemoryResult;
}

describe('db', () => {
  test('PoolHitTag read back after ed: 4 bytes and the ASCII column "Abc "', () => {
    const result = fromLog('db-unknown-x86-1.txt', 'db');
    expect(result).toMatchObject({ address: '820f2ba4', unit: 1, bytes: [0x41, 0x62, 0x63, 0x20], ascii: 'Abc ', lines: 1, complete: true });
  });

  test('default length with the mid-line dash: 128 bytes of an MZ header', () => {
    const result = parseDb(fixture('db-winxp-x86-1.txt'));
    expect(result.address).toBe('f8da6000');
    expect(result.bytes).toHaveLength(128);
    expect(result.bytes?.slice(0, 4)).toEqual([0x4d, 0x5a, 0x90, 0x00]);
    expect(result.bytes?.slice(8, 10)).toEqual([0x04, 0x00]);
    expect(result.bytes?.[0x3c]).toBe(0xd0);
    expect(result.ascii?.slice(0x4e, 0x4e + 22)).toBe('This program cannot be');
    expect(result.ascii).toHaveLength(128);
    expect(result.unparsed).toEqual([]);
  });

  test('unreadable memory stops the bytes and marks the result incomplete', () => {
    const result = parseDb('fffff800`00001000  cc eb ?? ?? ?? ?? ?? ??-?? ?? ?? ?? ?? ?? ?? ??  ..??????????????');
    expect(result).toMatchObject({ address: 'fffff80000001000', bytes: [0xcc, 0xeb], unreadable: 'fffff80000001002', complete: false });
  });

  test('a dump cut by "Memory access error" keeps what was read', () => {
    const result = parseDb("00007ff9`850bd78d  cc eb\nMemory access error at '00007ff9`850bd78f'");
    expect(result).toMatchObject({ bytes: [0xcc, 0xeb], unreadable: '00007ff9850bd78f', complete: false });
  });
});

describe('dd / dc / dq', () => {
  test('dd x64 with backtick addresses', () => {
    const result = parseDd(fixture('dd-win10-x64-1.txt'));
    expect(result.address).toBe('fffff802bb4057c0');
    expect(result.values).toHaveLength(32);
    expect(result.values?.[0]).toBe('ffffffff');
    expect(result.values?.[8]).toBe('00000001');
    expect(result.complete).toBe(true);
  });

  test('dd x86 default length', () => {
    const result = parseDd(fixture('dd-win7-x86-1.txt'));
    expect(result).toMatchObject({ address: '82997760', unit: 4, lines: 8 });
    expect(result.values?.slice(0, 3)).toEqual(['00000000', 'bad0b0b0', '84f46728']);
    expect(result.values?.[31]).toBe('84ff3bd8');
  });

  test('dd L1 of PoolHitTag after ed: the tag dcba stored little-endian', () => {
    const result = fromLog('ed-win7-x86-1.txt', 'dd');
    expect(result).toMatchObject({ address: '82b37df4', values: ['64636261'], complete: true });
  });

  test('dc: dwords and the ASCII column', () => {
    const result = parseDc(fixture('dc-win11-x64-1.txt'));
    expect(result.address).toBe('ffffbd06d46dff00');
    expect(result.values).toHaveLength(36 * 4);
    expect(result.values?.slice(56, 60)).toEqual(['86e5f5d4', '8d67903e', '00000000', '00000000']);
    expect(result.ascii?.slice(0xe0, 0xf0)).toBe('....>.g.........');
    expect(result.ascii?.slice(0x100, 0x110)).toBe('AAAAAAAAAAAAAAAA');
  });

  test('dq: backtick-split qwords, two reads of the same address in one log', () => {
    expect(fromLog('dq-win10-x64-1.txt', 'dq', 0)).toMatchObject({ address: 'fffff8009c1907d8', unit: 8, values: ['fffff8009be61090', 'fffff8009be66d20'] });
    expect(fromLog('dq-win10-x64-1.txt', 'dq', 1).values).toEqual(['000000affe950000', 'fffff8009be66d20']);
    expect(fromLog('bphit-win7-x64-1.txt', 'dq').values).toEqual([
      '4242424242424242', '4343434343434343', '018825148b486550', '8b4d705a8b4c0000', '0a8b490000018893', '04fa8348f8518b48',
    ]);
    expect(fromLog('step-win10-x64-1.txt', 'dq').values).toEqual(['000000032b2f0000']);
  });

  test('dq unit given explicitly and inferred agree', () => {
    const text = 'fffff800`9c1907d8  fffff800`9be61090 fffff800`9be66d20';
    expect(parseDq(text)).toEqual(parseMemory(text));
  });

  test('a gap between lines marks the dump incomplete', () => {
    const result = parseDd('82997760  00000000 bad0b0b0 84f46728 84f46660\n82997790  85053520 8504f9c8 8504f900 8504f838');
    expect(result.values).toHaveLength(8);
    expect(result.complete).toBe(false);
  });

  test('no dump lines at all is a KdParseError', () => {
    expect(() => parseDd("Couldn't resolve error at 'nt!Nope'")).toThrow(KdParseError);
    expect(() => parseDd("Memory access error at 'fffff800`00000000'")).toThrow(KdParseError);
  });
});
