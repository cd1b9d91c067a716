import { describe, expect, test } from 'vitest';
import { findKdErrors, matchKdErrorLine, parseKdError } from '../../src/kd/errors.js';
import { fixture, fixtureNames } from './fixture-b.js';

// Error replies as kd prints them (forms seen in published kd/cdb logs).
describe('parseKdError', () => {
  test.each([
    ["Couldn't resolve error at 'KiGlobalTimerResolutionRequests '", 'resolve', 'KiGlobalTimerResolutionRequests'],
    ["Memory access error at '00007ff9`850bd78f'", 'memory-access', '00007ff9`850bd78f'],
    ["           ^ Syntax error in 'r rsp+28'", 'syntax', 'r rsp+28'],
    ["Syntax error at '<EOL>'", 'syntax', '<EOL>'],
    ["                                 ^ Extra character error in '.echo C3_DG_T0E_HIT'", 'extra-character', '.echo C3_DG_T0E_HIT'],
    ["Bad register error in 'r $s7 = 0'", 'bad-register', 'r $s7 = 0'],
    ["Ambiguous symbol error at '`untitled2!main.cpp:18`'", 'ambiguous-symbol', '`untitled2!main.cpp:18`'],
    ["Numeric expression missing from '& 1'", 'numeric-missing', '& 1'],
    ['No export poolused found', 'no-export', 'poolused'],
    ['poolused is not extension gallery command', 'no-export', 'poolused'],
    ['Unable to get PoolTrackTable - probably wrong symbols.', 'unable', 'PoolTrackTable - probably wrong symbols.'],
  ])('%s', (text, kind, subject) => {
    const error = parseKdError(text);
    expect(error).toMatchObject({ kind, subject, line: 1 });
    expect(error?.message).toBe(text.trim().replace(/^\^ /, ''));
  });

  test('the caret column is kept', () => {
    expect(parseKdError("           ^ Syntax error in 'r rsp+28'")?.caretColumn).toBe(11);
    expect(parseKdError("Couldn't resolve error at 'nt!Foo'")?.caretColumn).toBeUndefined();
  });

  test('the error after partial output is found, with its line', () => {
    const text = "0000003f`f6b9a580  d0 a5 b9 f6 3f 00 00 00-20 1c 00 00 f8 7f 00 00  ....?... .......\nMemory access error at '0000003f`f6b9a590'";
    expect(parseKdError(text)).toMatchObject({ kind: 'memory-access', line: 2 });
    expect(findKdErrors(`${text}\nCouldn't resolve error at 'x'`).map((error) => error.kind)).toEqual(['memory-access', 'resolve']);
  });

  test('ordinary output is not an error', () => {
    expect(matchKdErrorLine('Breakpoint 0 hit')).toBeUndefined();
    expect(matchKdErrorLine('*** ERROR: Module load completed but symbols could not be loaded for LiveKdD.SYS')).toBeUndefined();
    expect(matchKdErrorLine('')).toBeUndefined();
  });

  test('no fixture of parsed kinds reads as an error reply', () => {
    const names = fixtureNames('vertarget', 'db', 'dd', 'dq', 'dc', 'gflag', 'bphit', 'reload', 'ed', 'poolhittag', 'step', 'lm');
    expect(names.length).toBeGreaterThan(15);
    for (const name of names) expect(parseKdError(fixture(name)), name).toBeUndefined();
  });
});
