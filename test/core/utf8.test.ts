// Strict UTF-8 decoding (src/core/utf8.ts): the first invalid byte is found and placed in the text,
// and the playbook loader reports it as YAML_SYNTAX at its line:col instead of loading U+FFFD.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { loadPlaybook } from '../../src/core/load.js';
import { decodeUtf8 } from '../../src/core/utf8.js';
import { fixtureRegistry, writeTree } from './helpers.js';

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part))));

describe('decodeUtf8', () => {
  test('valid UTF-8 (multi-byte, astral, a BOM) decodes as TextDecoder does, with nothing invalid', () => {
    const valid = bytes([0xef, 0xbb, 0xbf], 'name: Café 漏洞 🐛\n');
    expect(decodeUtf8(valid)).toEqual({ text: 'name: Café 漏洞 🐛\n' });
  });

  test.each([
    ['a Latin-1 byte', bytes('ab', [0xe9], ' c'), 2, 0xe9],
    ['a lone continuation byte', bytes('ab', [0x80]), 2, 0x80],
    ['0xFF', bytes([0xff]), 0, 0xff],
    ['an overlong NUL (C0 80)', bytes('x', [0xc0, 0x80]), 1, 0xc0],
    ['an overlong three-byte form (E0 80 AF)', bytes([0xe0, 0x80, 0xaf]), 0, 0xe0],
    ['a surrogate (ED A0 80)', bytes('é', [0xed, 0xa0, 0x80]), 1, 0xed],
    ['a code point past U+10FFFF (F4 90 80 80)', bytes([0xf4, 0x90, 0x80, 0x80]), 0, 0xf4],
    ['a sequence cut at the end', bytes('🐛', [0xf0, 0x9f, 0x90]), 2, 0xf0],
  ])('%s: the offset in the text is where the bad byte shows', (_what, input, offset, byte) => {
    const decoded = decodeUtf8(input);
    expect(decoded.invalid).toEqual({ offset, byte });
    expect(decoded.text[offset]).toBe('\ufffd');
  });

  test('property: the fatal decoder and the scan agree, and the prefix before the offset is intact', () => {
    fc.assert(
      fc.property(fc.string(), fc.uint8Array({ maxLength: 6 }), fc.string(), (before, middle, after) => {
        const input = bytes(before, [...middle], after);
        const decoded = decodeUtf8(input);
        let fatal = true;
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(input);
        } catch {
          fatal = false;
        }
        expect(decoded.invalid === undefined).toBe(fatal);
        // The text before the middle bytes is whole UTF-8, so the first bad byte cannot be in it.
        const head = before.startsWith('\ufeff') ? before.slice(1) : before;
        if (decoded.invalid) {
          expect(decoded.invalid.offset).toBeGreaterThanOrEqual(head.length);
          expect(decoded.text.slice(0, head.length)).toBe(head);
        }
        expect(decoded.text).toBe(new TextDecoder('utf-8').decode(input));
      }),
      { numRuns: 300 },
    );
  });
});

describe('the playbook loader', () => {
  test('a Latin-1 byte in free text is YAML_SYNTAX at its line:col, with a code frame and a hint', async () => {
    const registry = await fixtureRegistry();
    const dir = writeTree({});
    const file = join(dir, 'latin1.yaml');
    writeFileSync(file, bytes('name: x\n# 漏洞 comment\ndescription: "Caf', [0xe9], ' leak"\nsteps: []\n'));
    const result = loadPlaybook('latin1.yaml', { registry, cwd: dir });
    expect(result.playbook).toBeUndefined();
    expect(result.errors.map((e) => ({ code: e.code, location: e.location, message: e.message, hint: e.hint }))).toEqual([
      { code: 'YAML_SYNTAX', location: { file: 'latin1.yaml', line: 3, column: 18 }, message: 'The file is not UTF-8: byte 0xE9 does not begin a valid UTF-8 sequence', hint: 'save the file as UTF-8' },
    ]);
    expect(result.errors[0]!.frame).toContain('> 3 | description: "Caf\ufffd leak"');
  });

  test('control: the same file saved as UTF-8 loads', async () => {
    const registry = await fixtureRegistry();
    const dir = writeTree({ 'utf8.yaml': 'name: x\ndescription: "Café leak"\nsteps: []\n' });
    const result = loadPlaybook('utf8.yaml', { registry, cwd: dir });
    expect(result.errors).toEqual([]);
    expect(result.playbook?.description).toBe('Café leak');
  });
});
