import { describe, expect, test } from 'vitest';
import { KdParseError } from '../../src/kd/common.js';
import { parsePoolfind } from '../../src/kd/poolfind.js';
import { commandOutput, fixture } from './fixture-b.js';

describe('parsePoolfind on real transcripts', () => {
  test('poolfind-unknown-x86-1, !poolfind SeSd 0: old form, two nonpaged regions, free blocks', () => {
    const result = parsePoolfind(commandOutput(fixture('poolfind-unknown-x86-1.txt'), '!poolfind SeSd 0'));
    expect(result.tag).toBe('SeSd');
    expect(result.searched).toEqual([
      { region: 'large-pool-table', start: '827d1000', end: '827e9000' },
      { region: 'nonpaged', start: '823b1000', end: '82800000' },
      { region: 'nonpaged', start: 'fe7c3000', end: 'ffbe0000' },
    ]);
    expect(result.hits).toHaveLength(19);
    expect(result.hits[0]).toEqual({ address: '826fa130', tag: 'SeSd', size: 0xc0, pool: 'nonpaged', state: 'allocated', previousSize: 0x40 });
    expect(result.hits[4]).toEqual({ address: '82721c00', tag: 'SeSd', size: 0x10, pool: 'nonpaged', state: 'free', previousSize: 0x30 });
    expect(result.hits[11]).toMatchObject({ address: '8278b730', size: 0x100, previousSize: 0x290 });
    expect(result.hits.filter((hit) => hit.state === 'free').map((hit) => hit.address)).toEqual(['82721c00', '8278b830']);
    expect(result.complete).toBe(true);
    expect(result.unparsed).toEqual([]);
  });

  test('poolfind-unknown-x86-1, !poolfind SeSd 1: paged pool, elided and stopped by the user', () => {
    const result = parsePoolfind(commandOutput(fixture('poolfind-unknown-x86-1.txt'), '!poolfind SeSd 1'));
    expect(result.tag).toBe('SeSd');
    expect(result.searched.map((region) => region.region)).toEqual(['large-pool-table', 'paged']);
    expect(result.hits.map((hit) => hit.address)).toEqual(['e10000b0', 'e1000260', 'e1221dc0', 'e1224250']);
    expect(result.hits.every((hit) => hit.pool === 'paged' && hit.size > 0)).toBe(true);
    expect(result.hits[0].size).toBe(0xd0);
    expect(result.stoppedAt).toBe('e1224000');
    expect(result.complete).toBe(false);
    expect(result.unparsed).toEqual([]);
  });

  test('poolfind-win10-x64-1: new form only, scan stopped before any pool pages', () => {
    const result = parsePoolfind(fixture('poolfind-win10-x64-1.txt'));
    expect(result.tag).toBe('Proc');
    expect(result.hits).toHaveLength(13);
    expect(result.hits[0]).toEqual({ address: 'ffffd48ca040f340', tag: 'Proc', size: 0xb70, pool: 'nonpaged' });
    expect(result.hits[12].address).toBe('ffffd48ca0ddc330');
    expect(result.searched).toEqual([]);
    expect(result.complete).toBe(false);
    // The closing Markdown fence the author left in the block is not kd's.
    expect(result.unparsed).toEqual(['```']);
  });

  test('poolfind-win10x-x64-1: large pool table, nonpaged search, author elision, user break', () => {
    const result = parsePoolfind(fixture('poolfind-win10x-x64-1.txt'));
    expect(result.tag).toBe('amda');
    expect(result.searched).toEqual([
      { region: 'large-pool-table', start: 'ffffda0fe5b10000', end: 'ffffda0fe5f10000' },
      { region: 'nonpaged', start: 'ffffda0000000000', end: 'ffffea0000000000' },
    ]);
    expect(result.hits).toHaveLength(31);
    expect(result.hits[0]).toEqual({ address: 'ffffda0ff9791000', tag: 'amda', size: 0x18f0, pool: 'nonpaged', largePool: true });
    expect(result.hits.filter((hit) => hit.largePool)).toHaveLength(22);
    expect(result.hits[22]).toEqual({ address: 'ffffda000a9b6d30', tag: 'amda', size: 0x140, pool: 'nonpaged' });
    expect(result.hits.filter((hit) => hit.size === 0x140)).toHaveLength(23);
    expect(result.stoppedAt).toBe('ffffda000fb7df50');
    expect(result.complete).toBe(false);
    expect(result.unparsed).toEqual(['... All 0x140 nonpaged']);
  });
});

describe('parsePoolfind on the shapes the fixtures describe', () => {
  test('`*` markers, tags with spaces, a session pool hit', () => {
    const text = [
      'Searching Paged pool (e1000000 : e4400000) for Tag: Ggb ',
      '',
      '*e10000b0 size:   d0 previous size:   20  (Allocated) *Ggb ',
      'e1000260 size:   d0 previous size:   60  (Free)      Ggb ',
      'fffff8a0`0a9b6d30 : tag Ggb , size     0x140, Session pool',
    ].join('\n');
    const result = parsePoolfind(text);
    expect(result.tag).toBe('Ggb ');
    expect(result.hits).toEqual([
      { address: 'e10000b0', tag: 'Ggb ', size: 0xd0, pool: 'paged', state: 'allocated', previousSize: 0x20 },
      { address: 'e1000260', tag: 'Ggb ', size: 0xd0, pool: 'paged', state: 'free', previousSize: 0x60 },
      { address: 'fffff8a00a9b6d30', tag: 'Ggb ', size: 0x140, pool: 'session' },
    ]);
    expect(result.complete).toBe(true);
  });

  test('the tag comes from the command echo when kd printed no section line', () => {
    const result = parsePoolfind('kd> !poolfind Abc 0\nffffd48ca040f340 : tag Abc , size      0x80, Nonpaged pool\n');
    expect(result.tag).toBe('Abc ');
    expect(result.hits[0].tag).toBe('Abc ');
  });

  test('a tag given by value on the command line is read little-endian', () => {
    const result = parsePoolfind('kd> !poolfind 0x20636241 1\nffffd48ca040f340 : tag Abc , size      0x80, Paged pool\n');
    expect(result.tag).toBe('Abc ');
    expect(result.hits[0]).toEqual({ address: 'ffffd48ca040f340', tag: 'Abc ', size: 0x80, pool: 'paged' });
  });

  test('text that is not !poolfind output is a KdParseError', () => {
    expect(() => parsePoolfind('Invalid tag\n')).toThrow(KdParseError);
    expect(() => parsePoolfind('')).toThrow(expect.objectContaining({ code: 'KD_PARSE_ERROR', kind: 'poolfind' }));
  });
});
