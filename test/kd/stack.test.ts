import { describe, expect, test } from 'vitest';
import { KdParseError } from '../../src/kd/common.js';
import { parseStack } from '../../src/kd/stack.js';
import { fixture } from './fixture-b.js';

// The lines from the `occurrence`-th line matching `from` up to (not including) the next line matching `to`.
function section(text: string, from: RegExp, to?: RegExp, occurrence = 0): string {
  const lines = text.split('\n');
  let start = -1;
  for (let seen = -1; seen < occurrence; ) {
    start = lines.findIndex((line, index) => index > start && from.test(line));
    if (start < 0) throw new Error(`no line matches ${from}`);
    seen += 1;
  }
  const end = to ? lines.findIndex((line, index) => index > start && to.test(line)) : -1;
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

const PROMPT = /^\s*(\d+: ?)?kd>|^\d+:\d{3}>|^C:\\>/;

describe('parseStack on x64 transcripts', () => {
  test('k-win10x-x64-1: newest k layout, inline frames, private-symbol sources', () => {
    const result = parseStack(fixture('k-win10x-x64-1.txt'));
    expect(result.frames).toHaveLength(17);
    expect(result.frames.map((frame) => frame.index)).toEqual([...Array(17).keys()]);
    expect(result.frames[0]).toEqual({
      index: 0,
      childSp: 'ffffd68d7952edb8',
      retAddr: 'fffff8040591d831',
      module: 'nt',
      function: 'ExAllocatePool2',
      source: { file: 'minkernel\\ntos\\ex\\pool.c', line: 4255 },
    });
    expect(result.frames[1]).toEqual({
      index: 1,
      inline: true,
      module: 'Wdf01000',
      function: 'MxMemory::MxAllocatePool2',
      offset: 0x10,
      source: { file: 'minkernel\\wdf\\framework\\shared\\inc\\primitives\\km\\MxMemoryKm.h', line: 86 },
    });
    expect(result.frames.filter((frame) => frame.inline).map((frame) => frame.index)).toEqual([1, 3, 4, 6, 9, 0xc]);
    expect(result.frames[6]).toMatchObject({ module: 'Wdf01000', function: 'FxObject::operator new', offset: 0x2a });
    expect(result.frames[0xa]).toMatchObject({
      childSp: 'ffffd68d7952efb0',
      retAddr: 'fffff8040ffa4568',
      module: 'amdacpbus2',
      function: 'AcpWorkItemCreate',
      offset: 0xd0,
      source: { file: 'c:\\constructicon\\builds\\gfx\\five\\24.20\\drivers\\acp\\amdacpbus2\\src\\acp_device.c', line: 1345 },
    });
    expect(result.frames[16]).toMatchObject({ index: 0x10, retAddr: '0000000000000000', function: 'KiIdleLoop', offset: 0x9e });
    expect(result).toMatchObject({ complete: true, unparsed: [], warnings: [] });
  });

  test('kb-win10x-x64-1: RetAddr and four args without Child-SP, bare-hex and module+offset frames', () => {
    const result = parseStack(section(fixture('kb-win10x-x64-1.txt'), /kd> kb$/));
    expect(result.frames).toHaveLength(17);
    expect(result.frames[0]).toEqual({
      index: 0,
      retAddr: 'fffff802434d1efb',
      args: ['0000000000000000', '0000000000000000', '0000000000000000', 'fffff802434ccf20'],
      module: '',
      address: 'd',
    });
    expect(result.frames[1]).toEqual({
      index: 1,
      retAddr: 'fffff802434ccf87',
      args: ['0000000000000000', '000000000000060c', '0000000000000000', '0000000000000000'],
      module: 'AsusPTPFilter',
      offset: 0x11efb,
    });
    expect(result.frames[3]).toMatchObject({ module: 'nt', function: 'IofCallDriver', offset: 0x55 });
    expect(result.frames[8]).toMatchObject({ index: 8, module: '', address: '00007ffa506efb44' });
    expect(result.frames.every((frame) => frame.args?.length === 4 && frame.childSp === undefined)).toBe(true);
    expect(result).toMatchObject({ complete: true, unparsed: [] });
  });

  const kcText = fixture('kc-win7-x64-1.txt');
  // Each of the eight k variants of kc-win7-x64-1, from its prompt to the next one.
  const variant = (command: string) => parseStack(section(kcText, new RegExp(`^0:000> ${command}$`), /^0:000>/));

  test('kc-win7-x64-1 kb: older kb layout without Child-SP; BBT-split symbol with spaces and backtick', () => {
    const result = variant('kb');
    expect(result.frames).toHaveLength(4);
    expect(result.frames[2]).toEqual({
      index: 2,
      retAddr: '00000000776fc32e',
      args: ['000000000015f4c0', '0000000000000000', '000007fffffde000', '0000000000000000'],
      module: 'ntdll',
      function: "?? ::FNODOBFM::`string'",
      offset: 0x29220,
    });
    expect(result.unparsed).toEqual([]);
  });

  test('kc-win7-x64-1 kc: call sites only, no offsets', () => {
    const result = variant('kc');
    expect(result.frames).toEqual([
      { index: 0, module: 'ntdll', function: 'LdrpDoDebuggerBreak' },
      { index: 1, module: 'ntdll', function: 'LdrpInitializeProcess' },
      { index: 2, module: 'ntdll', function: "?? ::FNODOBFM::`string'" },
      { index: 3, module: 'ntdll', function: 'LdrInitializeThunk' },
    ]);
  });

  test('kc-win7-x64-1 kv: Child-SP, RetAddr and args between colons', () => {
    const result = variant('kv');
    expect(result.frames[1]).toEqual({
      index: 1,
      childSp: '000000000015ef10',
      retAddr: '0000000077711a17',
      args: ['0000000000000000', '0000000077714061', '000000000015f4c0', '0000000000000000'],
      module: 'ntdll',
      function: 'LdrpInitializeProcess',
      offset: 0x1b4f,
    });
  });

  test('kc-win7-x64-1 kf: the Memory column, blank for frame 00', () => {
    const result = variant('kf');
    expect(result.frames.map((frame) => frame.memory)).toEqual([undefined, 0x40, 0x4f0, 0x70]);
    expect(result.frames[3]).toMatchObject({ childSp: '000000000015f470', retAddr: '0000000000000000', function: 'LdrInitializeThunk', offset: 0xe });
  });

  test.each(['kp', 'kn', 'kL', 'kM'])('kc-win7-x64-1 %s: the kn layout', (command) => {
    const result = variant(command);
    expect(result.frames.map((frame) => [frame.index, frame.childSp, frame.retAddr, frame.function, frame.offset])).toEqual([
      [0, '000000000015eed0', '0000000077732ef5', 'LdrpDoDebuggerBreak', 0x30],
      [1, '000000000015ef10', '0000000077711a17', 'LdrpInitializeProcess', 0x1b4f],
      [2, '000000000015f400', '00000000776fc32e', "?? ::FNODOBFM::`string'", 0x29220],
      [3, '000000000015f470', '0000000000000000', 'LdrInitializeThunk', 0xe],
    ]);
    expect(result).toMatchObject({ complete: true, unparsed: [], warnings: [] });
  });

  test('kn-win10-x64-1: the "Stack trace for last set context" banner is a warning, not a frame', () => {
    const result = parseStack(fixture('kn-win10-x64-1.txt'));
    expect(result.warnings).toEqual([{ message: 'Stack trace for last set context - .thread/.cxr resets it', beforeFrame: 0 }]);
    expect(result.frames).toHaveLength(7);
    expect(result.frames[3]).toEqual({ index: 3, childSp: 'ffff82871fbd7450', retAddr: 'fffff8045e8b3973', module: 'nt', function: 'PspExitThread', offset: 0x489 });
    expect(result.frames[6]).toMatchObject({ function: 'KiStartSystemThread', retAddr: '0000000000000000' });
    expect(result).toMatchObject({ complete: true, unparsed: [] });
  });

  test('kn-win10-x64-2: older header without leading blank, source path with spaces, "..." elision', () => {
    const result = parseStack(fixture('kn-win10-x64-2.txt'));
    expect(result.frames).toHaveLength(6);
    expect(result.frames[0]).toEqual({
      index: 0,
      childSp: 'ffffd00151978110',
      retAddr: 'fffff8010942f55b',
      module: 'ECHO',
      function: 'EchoEvtDeviceAdd',
      offset: 0x66,
      source: { file: 'c:\\Samples\\kmdf echo sample\\c++\\driver\\autosync\\driver.c', line: 138 },
    });
    expect(result.frames[1]).toMatchObject({ inline: true, module: 'Wdf01000', function: 'FxDriverDeviceAdd::Invoke', offset: 0x30 });
    expect(result.frames[1].childSp).toBeUndefined();
    expect(result.complete).toBe(false);
    expect(result.unparsed).toEqual([]);
  });

  test('kn-win8-x64-1: hex frame numbers up to 11 and a ?? ::NNGAKEGL:: symbol', () => {
    const result = parseStack(section(fixture('kn-win8-x64-1.txt'), /kd> kn$/, PROMPT));
    expect(result.frames).toHaveLength(18);
    expect(result.frames[17]).toMatchObject({ index: 0x11, module: 'ntdll', function: 'RtlUserThreadStart', offset: 0x1d });
    expect(result.frames[4]).toMatchObject({ module: 'nt', function: "?? ::NNGAKEGL::`string'", offset: 0x1caaf });
    expect(result.frames[0xc]).toMatchObject({ module: 'WDTFFuzzTestAction', function: 'CWDTFFuzz_MTestImpl::AttemptToOpenSurface', offset: 0x66 });
    expect(result.warnings).toHaveLength(1);
    expect(result).toMatchObject({ complete: true, unparsed: [] });
  });

  test('kp-win10-x64-1: kp without private symbols, first frame without offset', () => {
    const result = parseStack(section(fixture('kp-win10-x64-1.txt'), /^kd> kp$/, PROMPT));
    expect(result.frames).toHaveLength(17);
    expect(result.frames[0]).toEqual({ index: 0, childSp: 'fffff90ea867e368', retAddr: 'fffff80419525382', module: 'nt', function: 'DbgBreakPointWithStatus' });
    expect(result.frames[8]).toMatchObject({ module: 'HTTP', function: 'UlpParseAcceptEncoding', offset: 0x299c5 });
    expect(result).toMatchObject({ complete: true, unparsed: [] });
  });

  test('thread-win10-x64-1: the !thread stack, no frame numbers, bare-address frames', () => {
    const result = parseStack(section(fixture('thread-win10-x64-1.txt'), /^Child-SP/));
    expect(result.frames).toHaveLength(3);
    expect(result.frames[0]).toMatchObject({
      childSp: 'fffff80259858c68',
      module: 'nt',
      function: 'DbgBreakPointWithStatus',
      source: { file: 'd:\\rs2\\minkernel\\ntos\\rtl\\amd64\\debugstb.asm', line: 130 },
    });
    expect(result.frames[0].index).toBeUndefined();
    expect(result.frames[1]).toMatchObject({ module: '', address: 'fffff801b56d24aa', retAddr: 'ffffcb088fd68010' });
    expect(result.frames[2].args).toEqual(['fffff80258259600', '0000000000000008', 'ffffcb088f0a4400', '0000000000000019']);
  });

  test('process-win8-x64-1: indented !process stack, inline note and TrapFrame at the kernel/user boundary', () => {
    const result = parseStack(section(fixture('process-win8-x64-1.txt'), /^\s+Child-SP/));
    expect(result.frames).toHaveLength(19);
    expect(result.frames[1]).toEqual({ inline: true, module: 'nt', function: 'KiSwapThread', offset: 0xf4, notes: ['Inline Function @ fffff803`78b27f7c'] });
    expect(result.frames[7]).toMatchObject({
      childSp: 'fffff8800eb5ebd0',
      function: 'KiSystemServiceCopyEnd',
      offset: 0x13,
      notes: ['TrapFrame @ fffff880`0eb5ec40'],
      trapFrame: 'fffff8800eb5ec40',
    });
    expect(result.frames[10]).toMatchObject({ module: 'WDTFAudioSimpleIoAction', function: 'CAudioImpl::RunIO', offset: 0x3d1 });
    expect(result).toMatchObject({ complete: true, unparsed: [] });
  });

  test('analyze-win7-x64-1: STACK_TEXT without a header, colon-separated args', () => {
    const result = parseStack(section(fixture('analyze-win7-x64-1.txt'), /^STACK_TEXT:/, /^STACK_COMMAND:/));
    expect(result.frames).toHaveLength(11);
    expect(result.frames[0]).toEqual({
      childSp: 'fffff80000ba18a8',
      retAddr: 'fffff8000446b43e',
      args: ['00007fff0764ffff', 'ffffff1e00000000', 'fffff80000ba2020', 'fffff8000449f650'],
      module: 'nt',
      function: 'KeBugCheck',
    });
    expect(result.frames[7]).toMatchObject({ module: 'nvlddmkm', offset: 0x41544d });
    expect(result.frames[7].function).toBeUndefined();
    expect(result.frames.slice(8, 10).map((frame) => frame.address)).toEqual(['200080', '1']);
    expect(result).toMatchObject({ complete: true, unparsed: [] });
  });

  test('gflag-win10-x64-1: k with sparse frame numbers and "……" elisions', () => {
    const result = parseStack(section(fixture('gflag-win10-x64-1.txt'), /^kd> k$/, PROMPT));
    expect(result.frames.map((frame) => [frame.index, frame.module, frame.function, frame.offset])).toEqual([
      [0, 'nt', 'DebugService2', 5],
      [0x10, 'KernelBase', 'LoadLibraryExW', 0x17b],
      [0x18, 'lsass', 'wmain', 0x111],
      [0x1b, 'ntdll', 'RtlUserThreadStart', 0x21],
    ]);
    expect(result.complete).toBe(false);
    expect(result.unparsed).toEqual([]);
  });
});

describe('parseStack on x86 transcripts', () => {
  const win7 = fixture('k-win7-x86-1.txt');

  test('k-win7-x86-1 STACK_TEXT: kb-style frames, unsymbolized Trigger frames after a mid-stack warning', () => {
    const result = parseStack(section(win7, /^STACK_TEXT:/, /^STACK_COMMAND:/));
    expect(result.frames).toHaveLength(28);
    expect(result.frames[0]).toEqual({
      childEbp: '88f914dc',
      retAddr: '828de589',
      args: ['00000003', '96ad31c1', '00000065'],
      module: 'nt',
      function: 'RtlpBreakWithStatusInstruction',
    });
    expect(result.frames[5]).toMatchObject({ module: 'win32k', function: 'hbmSelectBitmap', offset: 0xca });
    expect(result.warnings).toEqual([{ message: 'WARNING: Stack unwind information not available. Following frames may be wrong.', beforeFrame: 23 }]);
    expect(result.frames[23]).toEqual({
      childEbp: '0024fef0',
      retAddr: '000b20bd',
      args: ['0024ff04', '75933c45', '7ffdf000'],
      module: 'Trigger',
      offset: 0x11ee6,
    });
    expect(result.frames[20]).toMatchObject({ function: '__crtExitProcess', source: { file: 'f:\\dd\\vctools\\crt\\crtw32\\startup\\crt0dat.c', line: 776 } });
  });

  test('k-win7-x86-1 k: "ChildEBP RetAddr  " header, no args, repeated ChildEBP of trap frames', () => {
    const result = parseStack(section(win7, /^kd> k$/));
    expect(result.frames).toHaveLength(28);
    expect(result.frames[3]).toEqual({ childEbp: '88f91964', retAddr: '82844aa8', module: 'nt', function: 'MmAccessFault', offset: 0xbf });
    expect(result.frames[4]).toEqual({ childEbp: '88f91964', retAddr: '911db830', module: 'nt', function: 'KiTrap0E', offset: 0xdc });
    expect(result.frames.some((frame) => frame.args !== undefined)).toBe(false);
    expect(result.frames[27]).toMatchObject({ retAddr: '00000000', function: '_RtlUserThreadStart', offset: 0x1b });
    expect(result.warnings[0].beforeFrame).toBe(23);
    expect(result).toMatchObject({ complete: true, unparsed: [] });
  });

  test('kb-win7-x86-1: numbered x86 kb, 46 frames into user mode', () => {
    const result = parseStack(fixture('kb-win7-x86-1.txt'));
    expect(result.frames).toHaveLength(46);
    expect(result.frames[0x2d]).toMatchObject({ index: 0x2d, childEbp: '00faff68', retAddr: '00000000', module: 'ntdll', function: '_RtlUserThreadStart' });
    expect(result.frames[0x1f]).toMatchObject({ module: 'RPCRT4', function: 'RPC_INTERFACE::DispatchToStubWorker', offset: 0x16c });
    expect(result.frames[5]).toEqual({
      index: 5,
      childEbp: '826fb7f0',
      retAddr: '82a1d4ca',
      args: ['86a84e60', '82b4ff48', '82b4ff48'],
      module: 'nt',
      function: 'VfPoolCheckForLeaks',
      offset: 0x33,
    });
    expect(result.unparsed).toEqual(['Implicit thread is now 8e976030']);
  });

  test('kb-win2000xp-x86-1: warning right after the header, sources, trailing Markdown fence', () => {
    const result = parseStack(section(fixture('kb-win2000xp-x86-1.txt'), /^C:\\>kb$/));
    expect(result.frames).toHaveLength(11);
    expect(result.warnings).toEqual([{ message: 'WARNING: Stack unwind information not available. Following frames may be wrong.', beforeFrame: 0 }]);
    expect(result.frames[7]).toMatchObject({
      module: 'pheap-buggy',
      function: 'TestCorruptAfterEnd',
      offset: 0x2b,
      source: { file: 'd:\\nttest\\base\\testsrc\\kernel\\rtl\\pageheap\\pheap-buggy.cxx', line: 185 },
    });
    expect(result.frames[9].source).toEqual({ file: 'crtexe.c', line: 349 });
    // The doc's `C:\>kb` is a command shell's prompt, not a debugger's: kept as a line not understood.
    expect(result.unparsed).toEqual(['C:\\>kb', '```']);
  });

  test('kb-win2000xp-x86-2: the warning in the middle concerns the frames after it', () => {
    const result = parseStack(fixture('kb-win2000xp-x86-2.txt'));
    expect(result.frames.map((frame) => frame.function)).toEqual(['TestCorruptAfterEnd', 'main', 'mainCRTStartup', 'DosPathToSessionPathA']);
    expect(result.warnings[0].beforeFrame).toBe(3);
  });

  test('kp-win7-x86-1: full parameter lists, bare-hex frames, "Frame IP not in any known module"', () => {
    const result = parseStack(section(fixture('kp-win7-x86-1.txt'), /kd> kp$/, PROMPT));
    expect(result.frames).toHaveLength(23);
    expect(result.frames[0]).toEqual({ index: 0, childEbp: '8fb7f128', retAddr: '83e905f4', module: '', address: 'fa1075' });
    expect(result.warnings).toEqual([{ message: 'WARNING: Frame IP not in any known module. Following frames may be wrong.', beforeFrame: 0 }]);
    expect(result.frames[6]).toEqual({
      index: 6,
      childEbp: '8fb7fab0',
      retAddr: '9a9da8b6',
      module: 'HEVD',
      function: 'TriggerBufferOverflowStackGS',
      parameters: 'void * UserBuffer = 0x000d0dec, unsigned long Size = 0x218',
      offset: 0x13f,
      source: { file: 'd:\\windows_kernel\\hacksysextremevulnerabledriver\\driver\\hevd\\windows\\bufferoverflowstackgs.c', line: 107 },
    });
    expect(result.frames[8].parameters).toBe('struct _DEVICE_OBJECT * DeviceObject = 0x884fc4c8 Device for "\\Driver\\HEVD", struct _IRP * Irp = 0x88165dc8');
    expect(result.frames[8]).toMatchObject({ function: 'IrpDeviceIoCtlHandler', offset: 0xf5 });
    expect(result.frames[0x12]).toMatchObject({ module: '', address: 'fa1149' });
    expect(result.unparsed).toEqual([]);
  });

  const nt4 = fixture('kv-nt4-x86-1.txt');

  test('kv-nt4-x86-1 kb: author annotation on the prompt, a frame with no call site at all', () => {
    const result = parseStack(section(nt4, /^kd> kb \[Lists/, PROMPT));
    expect(result.frames).toHaveLength(5);
    expect(result.frames[0]).toMatchObject({ module: 'NT', function: '_DbgBreakPoint' });
    expect(result.frames[3]).toEqual({ childEbp: '8013ed5c', retAddr: '801263ba', args: ['00000000', '00000000', 'e12ab000'], module: '' });
    expect(result.unparsed).toEqual([]);
  });

  test('kv-nt4-x86-1 kv: FPO notes and the trap frame', () => {
    const result = parseStack(section(nt4, /^kd> kv/, PROMPT));
    expect(result.frames[0]).toMatchObject({ function: '_DbgBreakPoint', notes: ['FPO: [0,0,0]'] });
    expect(result.frames[2]).toMatchObject({ function: '_KiTrap0E', offset: 0x256, notes: ['FPO: [0,0] TrapFrame @ 8013eee8'], trapFrame: '8013eee8' });
  });

  test('kv-nt4-x86-1 last kb: a call site wrapped onto its own line joins its frame', () => {
    const result = parseStack(section(nt4, /^kd> kb {2,}\[Gives/));
    expect(result.frames).toHaveLength(3);
    expect(result.frames[1]).toEqual({
      childEbp: '8013ef74',
      retAddr: 'fe5620d2',
      args: ['fe5620da', 'ff690268', '80404690'],
      module: 'NDIS',
      function: '_EthFilterIndicateReceiveComplete',
      offset: 0x31,
    });
    expect(result.frames[2]).toMatchObject({ module: 'elnkii', function: '_ElnkiiRcvInterruptDpc', offset: 0x1d0 });
    expect(result.unparsed).toEqual([]);
  });

  test('poolhittag-win7-x86-1 kvn: the stack at a PoolHitTag break, with FPO/CONV and source', () => {
    const result = parseStack(section(fixture('poolhittag-win7-x86-1.txt'), /kd> kvn$/));
    expect(result.frames).toHaveLength(10);
    expect(result.frames[0]).toEqual({
      index: 0,
      childEbp: '8772d834',
      retAddr: '82ab06b1',
      args: ['000000c1', '00000070', '64636261'],
      module: 'nt',
      function: 'ExAllocatePoolWithTag',
      offset: 0x881,
    });
    expect(result.frames[4]).toEqual({
      index: 4,
      childEbp: '8772d9d8',
      retAddr: '82bd22e6',
      args: ['86a220d0', '86a40000', '00000000'],
      module: 'Sample',
      function: 'DriverEntry',
      offset: 0x27,
      notes: ['FPO: [Non-Fpo]', 'CONV: stdcall'],
      source: { file: 'J:\\dev\\temp\\driver\\kerprg2\\Chapter02\\Sample\\Sample.cpp', line: 16 },
    });
  });

  test('thread-win8-x86-1: both stacks, with FPO/CONV notes and "…" elisions', () => {
    const text = fixture('thread-win8-x86-1.txt');
    const withArgs = parseStack(section(text, /^ChildEBP RetAddr {2}Args to Child/, /^$/));
    expect(withArgs.frames.map((frame) => frame.function)).toEqual(['IopCheckDeviceAndDriver', 'IopParseDevice', '__RtlUserThreadStart', '_RtlUserThreadStart']);
    expect(withArgs.frames[2].notes).toEqual(['FPO: [SEH]', 'CONV: stdcall']);
    expect(withArgs.complete).toBe(false);
    const plain = parseStack(section(text, /^ChildEBP RetAddr {2}$/, /^$/));
    expect(plain.frames).toHaveLength(7);
    expect(plain.frames[3]).toMatchObject({ module: 'deviceaccess', function: 'CDeviceBroker::OpenDeviceFromInterfacePath', offset: 0x178 });
    expect(plain.frames[3].args).toBeUndefined();
    expect(plain.complete).toBe(false);
    expect(plain.unparsed).toEqual([]);
  });

  test('banner-winxp-x86-1: a stack inside a debugger log window, FPO forms, local-KD warning', () => {
    const result = parseStack(section(fixture('banner-winxp-x86-1.txt'), /^\s+ChildEBP RetAddr$/));
    expect(result.frames).toHaveLength(10);
    expect(result.frames[0].notes).toEqual(['FPO: [Uses EBP] [0,0,4]']);
    expect(result.frames[8]).toMatchObject({ function: 'KiTrap03', offset: 0xad, trapFrame: 'a8eb8d64' });
    expect(result.frames[9]).toEqual({ childEbp: '0013fff0', retAddr: '00000000', module: 'msgbox', offset: 0x1001 });
    expect(result.warnings[0].beforeFrame).toBe(9);
  });
});

describe('parseStack on the frame shapes the issue names', () => {
  test('a driver without symbols, a C++ method, symbol-load complaints among the frames', () => {
    const text = [
      ' # Child-SP          RetAddr               Call Site',
      '00 ffffd68d`7952edb8 fffff804`0591d831     nt!ExAllocatePoolWithTag+0x1b1',
      'Unable to load image \\SystemRoot\\system32\\drivers\\Driver.sys, Win32 error 0n2',
      '*** ERROR: Module load completed but symbols could not be loaded for Driver.sys',
      '01 ffffd68d`7952edc0 fffff804`0591e433     Driver+0x11b1',
      '02 ffffd68d`7952ee30 fffff804`05932273     dxgkrnl!DXGCONTEXT::SubmitCommand+0x2f4',
    ].join('\n');
    const result = parseStack(text);
    expect(result.frames[1]).toEqual({ index: 1, childSp: 'ffffd68d7952edc0', retAddr: 'fffff8040591e433', module: 'Driver', offset: 0x11b1 });
    expect(result.frames[2]).toMatchObject({ module: 'dxgkrnl', function: 'DXGCONTEXT::SubmitCommand', offset: 0x2f4 });
    expect(result.warnings.map((warning) => warning.beforeFrame)).toEqual([1, 1]);
    expect(result.warnings[1].message).toBe('ERROR: Module load completed but symbols could not be loaded for Driver.sys');
    expect(result).toMatchObject({ complete: true, unparsed: [] });
  });
});

describe('parseStack on transcripts that hold no stack', () => {
  // Breakpoint hits, break-ins, steps and extension lists print addresses, registers and
  // disassembly; none of it may be mistaken for frames.
  test.each([
    'bphit-win7-x64-1.txt',
    'bphit-win7-x86-1.txt',
    'break-win2000xp-x86-1.txt',
    'break-win7-x86-1.txt',
    'chain-unknown-x64-1.txt',
    'step-win10-x64-1.txt',
    'analyze-win81-x86-1.txt',
  ])('%s is not a backtrace', (name) => {
    expect(() => parseStack(fixture(name))).toThrow(KdParseError);
  });
});

describe('parseStack on damaged input', () => {
  test('a frame line cut off mid-way makes the stack incomplete and is kept', () => {
    const text = `${section(fixture('k-win7-x86-1.txt'), /^kd> k$/).split('\n').slice(0, 6).join('\n')}\n88f91a20 911d`;
    const result = parseStack(text);
    expect(result.frames).toHaveLength(4);
    expect(result.complete).toBe(false);
    expect(result.unparsed).toEqual(['88f91a20 911d']);
  });

  test('text that is not a stack is a KdParseError', () => {
    expect(() => parseStack('eax=00000003 ebx=00000000 ecx=1e5424ed\n')).toThrow(KdParseError);
    expect(() => parseStack('')).toThrow(expect.objectContaining({ code: 'KD_PARSE_ERROR', kind: 'stack' }));
  });
});

describe('x86 frames reached through a trap frame', () => {
  test('kv-unknown-x86-1: (T) markers, intermediate-frame notes, every frame in order', () => {
    const result = parseStack(fixture('kv-unknown-x86-1.txt'));
    expect(result.frames.map((frame) => frame.index)).toEqual([0, 1, 2, 3, 4]);
    expect(result.frames[2]).toEqual({
      module: 'nt',
      index: 2,
      childEbp: '9c6f71e8',
      retAddr: '83e8e8d9',
      marker: 'T',
      args: ['8000151c', '00000000', '9c6f72bc'],
      function: 'KiSystemServicePostCall',
      notes: ['FPO: [0,3] TrapFrame @ 9c6f71f8'],
      trapFrame: '9c6f71f8',
    });
    expect(result.frames[3]).toMatchObject({ marker: 'T', module: 'nt', function: 'ZwTerminateProcess', offset: 0x11, args: ['8000151c', '00000000', '00000000'] });
    expect(result.frames[4]).toMatchObject({ module: 'AtdrAgent', offset: 0x194bd });
    expect(result.warnings.map((warning) => [warning.message.slice(0, 32), warning.beforeFrame])).toEqual([
      ['WARNING: Frame IP not in any kno', 1],
      ['Intermediate frames may have bee', 2],
      ['Intermediate frames may have bee', 3],
    ]);
    // The script's own lines are not kd's.
    expect(result.unparsed).toEqual(['called', 'hit ', 'go on ']);
  });

  test('crash-win10-x86-1: a numbered stack without arguments keeps its seven frames', () => {
    const output = fixture('crash-win10-x86-1.txt').split('Crashing Stack\n')[1]!.split('\n0: kd>')[0]!;
    const result = parseStack(output);
    expect(result.frames.map((frame) => [frame.index, frame.marker ?? '', frame.module, frame.function ?? frame.address])).toEqual([
      [0, '', 'nt', 'KeBugCheckEx'],
      [1, '', 'hal', 'HalBugCheckSystem'],
      [2, '', 'nt', 'WheaReportHwError'],
      [3, '', 'hal', 'HalHandleNMI'],
      [4, 'T', 'nt', 'KiTrap02'],
      [5, 'T', 'hal', 'HalProcessorIdle'],
      [6, '', '', '8344699c'],
    ]);
    expect(result.warnings.filter((warning) => warning.message.startsWith('Intermediate')).map((warning) => warning.beforeFrame)).toEqual([4, 5]);
    expect(result.unparsed).toEqual(['============================================']);
  });
});
