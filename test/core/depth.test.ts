// Nesting depth (src/core/depth.ts): the first collection past the limit, found without recursion,
// and the rough text scan used when the yaml parser itself ran out of stack.
import { parseDocument } from 'yaml';
import { describe, expect, test } from 'vitest';
import { deepestNodeOffset, deepTextOffset } from '../../src/core/depth.js';

describe('deepestNodeOffset', () => {
  test('a document exactly at the limit passes; one level more is found at that collection', () => {
    const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
    expect(deepestNodeOffset(parseDocument(nested(5)), 5)).toBeUndefined();
    expect(deepestNodeOffset(parseDocument(nested(6)), 5)).toBe(5);
    // Five levels: the root map, b's map, c's map, the sequence, {d: 2}.
    expect(deepestNodeOffset(parseDocument('a:\n  b:\n    c: [1, {d: 2}]\n'), 5)).toBeUndefined();
    expect(deepestNodeOffset(parseDocument('a:\n  b:\n    c: [1, {d: 2}]\n'), 4)).toBe('a:\n  b:\n    c: [1, '.length);
  });
});

describe('deepTextOffset', () => {
  test('counts flow brackets and the "- " entries of a line; skips quotes and comments', () => {
    expect(deepTextOffset('a: [[[x]]]\n', 3)).toBeUndefined();
    expect(deepTextOffset('a: [[[[x]]]]\n', 3)).toBe(6);
    expect(deepTextOffset('- - - - x\n', 3)).toBe(6);
    expect(deepTextOffset('a: "[[[[[["\nb: \'{{{{{\'\n# [[[[[[\n', 3)).toBeUndefined();
    expect(deepTextOffset("a: don't [[[[\n", 3)).toBe(12);
  });
});
