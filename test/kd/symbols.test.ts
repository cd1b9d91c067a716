// `x` (examine symbols) on real transcripts first: public nt symbols on x64 (functions and data),
// data symbols of a newer kernel, and private symbols on an x86 target (the padded address).
import { describe, expect, test } from 'vitest';
import { parseAuto } from '../../src/kd/auto.js';
import { KdParseError } from '../../src/kd/common.js';
import { parseSymbols, type SymbolsResult } from '../../src/kd/symbols.js';
import { fixture } from './fixture-b.js';

describe('x on real transcripts', () => {
  test('public nt symbols: functions (<no parameter info>) and data (= <no type information>); the elisions mark it incomplete', () => {
    const result = parseSymbols(fixture('x-win7-x64-1.txt'));
    expect(result.symbols).toEqual([
      { address: 'fffff800030821cc', module: 'nt', name: 'ViCreateProcessCallbackInternal', type: 'function', parameters: '<no parameter info>' },
      { address: 'fffff80002e03904', module: 'nt', name: 'MmCreateProcessAddressSpace', type: 'function', parameters: '<no parameter info>' },
      { address: 'fffff80002cece00', module: 'nt', name: 'PspCreateProcessNotifyRoutine', type: 'data', value: '<no type information>' },
    ]);
    expect(result.complete).toBe(false);
    // The page's doubled prompt is not a prompt kd prints: kept, not dropped.
    expect(result.unparsed).toEqual(['0:000>0: kd> x nt!*CreateProcess*']);
  });

  test('two x commands in one log, read by parse auto', () => {
    const entries = parseAuto(fixture('x-win10-x64-1.txt')).entries;
    expect(entries.map((entry) => entry.kind)).toEqual(['x', 'x']);
    expect((entries[0]!.result as SymbolsResult).symbols).toEqual([{ address: 'fffff8054ee16a68', module: 'nt', name: 'PoolBigPageTable', type: 'data', value: '<no type information>' }]);
    expect((entries[1]!.result as SymbolsResult).symbols[0]!.name).toBe('PoolBigPageTableSize');
  });

  test('x86: the address padded to 17 columns; private parameter types; a cut last line is incomplete', () => {
    const result = parseSymbols(fixture('x-win10-x86-1.txt'));
    expect(result.symbols).toHaveLength(6);
    expect(result.symbols[0]).toEqual({ address: '8b4c7490', module: 'ECHO', name: 'EchoEvtIoQueueContextDestroy', type: 'function', parameters: 'void *' });
    expect(result.symbols[4]!.parameters).toBe('struct WDFQUEUE__ *, struct WDFREQUEST__ *, unsigned int');
    expect(result.symbols[5]).toMatchObject({ name: 'EchoEvtDeviceAdd', parameters: 'struct WDFDRIVER__ *, struct' });
    expect(result.complete).toBe(false);
  });

  test('text with no symbol line is not x output', () => {
    expect(() => parseSymbols('kd> x nt!NoSuchThing\n')).toThrow(KdParseError);
  });
});
