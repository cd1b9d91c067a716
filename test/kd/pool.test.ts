// `!pool <address>` on real transcripts (Windows 2000–2003 docs, Windows 7 x86 live sessions,
// Windows 10 and 11 x64), and the block line it shares with `!poolfind`.
import { describe, expect, test } from 'vitest';
import { parseAuto } from '../../src/kd/auto.js';
import { KdParseError } from '../../src/kd/common.js';
import { parsePool, readBlockLine } from '../../src/kd/pool.js';
import { fixture } from './fixture-b.js';

describe('parsePool on real transcripts', () => {
  test('pool-unknown-x86-1 (old form): blocks in order, the asked one marked, tags not shifted', () => {
    const result = parsePool(fixture('pool-unknown-x86-1.txt'));
    expect(result.page).toBeUndefined();
    expect(result.blocks.map((block) => [block.address, block.tag, block.state, block.asked ?? false])).toEqual([
      ['e1001000', 'MmDT', 'allocated', false],
      ['e1001040', 'Mm  ', 'free', false],
      ['e1001050', 'ObDi', 'allocated', true],
      ['e1001060', 'ObDi', 'allocated', false],
      ['e1001070', 'Symt', 'allocated', false],
      ['e1001080', 'ObDm', 'allocated', false],
      ['e10010c0', 'ObDi', 'allocated', false],
    ]);
    expect(result.blocks[1]).toMatchObject({ size: 0x10, previousSize: 0x40 });
    // The docs end with `.....`: the page was cut.
    expect(result.complete).toBe(false);
    expect(result.unparsed).toEqual([]);
  });

  test('pool-unknown-x86-2 (flag 1): each block keeps the dwords printed under it', () => {
    const result = parsePool(fixture('pool-unknown-x86-2.txt'));
    expect(result.blocks).toHaveLength(4);
    expect(result.blocks[2]).toMatchObject({ address: 'e1001050', tag: 'ObDi', asked: true, data: ['ffffffff', '00000000', 'e1000240', '01028101', 'ffffffff', '00000000', 'e10009c0', '01028101'] });
    expect(result.unparsed).toEqual([]);
  });

  test('pool-win7-x86-1: header, quota process, (Protected), free blocks with garbage tags, no description for an unknown tag', () => {
    const result = parsePool(fixture('pool-win7-x86-1.txt'));
    expect(result).toMatchObject({ page: '85246430', region: 'nonpaged', complete: true, unparsed: [], messages: [] });
    expect(result.blocks).toHaveLength(24);
    expect(result.blocks[1]).toMatchObject({ address: '852460c8', tag: '.PZH', state: 'free', size: 0x10 });
    expect(result.blocks[4]).toMatchObject({ tag: 'Vad ' });
    expect(result.blocks[5]).toMatchObject({ tag: 'NpFn', process: '8507a030' });
    const asked = result.blocks.filter((block) => block.asked);
    expect(asked).toEqual([{ address: '85246428', size: 0x200, previousSize: 0xb8, state: 'allocated', tag: 'Hack', asked: true }]);
    expect(result.blocks.find((block) => block.address === '85246b98')).toMatchObject({ tag: 'File', protected: true });
  });

  test('pool-win7-x86-2: the asked block is protected and described', () => {
    const result = parsePool(fixture('pool-win7-x86-2.txt'));
    expect(result.page).toBe('8628a008');
    expect(result.blocks[0]).toEqual({ address: '8628a000', size: 0x40, previousSize: 0, state: 'allocated', tag: 'Even', asked: true, protected: true, description: 'Event objects' });
    expect(result.blocks[1]).toMatchObject({ tag: 'b.2.', state: 'free' });
  });

  test('pool-win7-x86-3 (flag 2): only the block holding the address, paged pool', () => {
    const result = parsePool(fixture('pool-win7-x86-3.txt'));
    expect(result).toMatchObject({ page: '91c26130', region: 'paged', blocks: [{ address: '91c26128', tag: 'abcd', asked: true, size: 0x78 }] });
    expect(result.blocks[0]!.description).toBeUndefined();
  });

  test('pool-win11-x64-2: 64-bit addresses, description and binary of the asked block', () => {
    const result = parsePool(fixture('pool-win11-x64-2.txt'));
    expect(result.blocks).toEqual([
      { address: 'ffffe2809abee000', size: 0x880, previousSize: 0, state: 'allocated', tag: 'MmSt', asked: true, description: 'Mm section object prototype ptes', binary: 'nt!mm' },
      { address: 'ffffe2809abee880', size: 0x760, previousSize: 0, state: 'free', tag: '.r."' },
    ]);
  });

  test('pool-win11-x64-1: a free asked block with a garbage tag', () => {
    expect(parsePool(fixture('pool-win11-x64-1.txt')).blocks).toEqual([{ address: 'ffffbd06d46dffe0', size: 0x8020, previousSize: 0, state: 'free', tag: '>.g.', asked: true }]);
  });

  test('pool-win11-x64-4: a large page allocation inside a longer log', () => {
    const entry = parseAuto(fixture('pool-win11-x64-4.txt')).entries.find((candidate) => candidate.kind === 'pool')!;
    expect(entry.result).toMatchObject({ page: 'ffff8287ad34f9a4', region: 'nonpaged', blocks: [{ address: 'ffff8287ad34f000', tag: 'Proc', size: 0x1000, large: true, asked: true, description: 'Process objects', binary: 'nt!ps' }] });
  });

  test("pool-win11-x64-3 and pool-win10-x64-1: kd's reasons when it cannot walk the page", () => {
    const corrupt = parsePool(fixture('pool-win11-x64-3.txt'));
    expect(corrupt).toMatchObject({ region: 'unknown', blocks: [], unparsed: [] });
    expect(corrupt.messages).toHaveLength(4);
    expect(corrupt.messages[3]).toMatch(/^Address ffffc48068d7d000 could not be read/);
    const entry = parseAuto(fixture('pool-win10-x64-1.txt')).entries.find((candidate) => candidate.kind === 'pool')!;
    expect(entry.result).toMatchObject({ messages: ['Failed to read heap key'], blocks: [] });
  });

  test('text that is not !pool output', () => {
    expect(() => parsePool('kd> !pool 1234\nSyntax error')).toThrow(KdParseError);
  });
});

describe('readBlockLine: one reading of the block line for !pool and !poolfind', () => {
  test('!pool has a marker column before the tag; !poolfind puts the tag right after the state', () => {
    expect(readBlockLine(' e1001040 size:   10 previous size:   40  (Free)       Mm  ', true)).toMatchObject({ tag: 'Mm  ', state: 'free', asked: false });
    expect(readBlockLine('*e1001050 size:   10 previous size:   10  (Allocated) *ObDi', true)).toMatchObject({ tag: 'ObDi', asked: true });
    expect(readBlockLine('82721c00 size:   10 previous size:   30  (Free)      SeSd', false)).toMatchObject({ tag: 'SeSd', state: 'free' });
    expect(readBlockLine('826fa130 size:   c0 previous size:   40  (Allocated) SeSd', false)).toMatchObject({ tag: 'SeSd', size: 0xc0, previousSize: 0x40 });
  });

  test('blanks collapsed by a publisher: the next word is the tag', () => {
    expect(readBlockLine('e1001050 size: 10 previous size: 10 (Allocated) *ObDi Process: 8507a030', true)).toMatchObject({ tag: 'ObDi', rest: 'Process: 8507a030' });
  });
});
