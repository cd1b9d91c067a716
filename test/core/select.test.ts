// The one sentence a report gives for each step's provider comes from the selection trace.
import { describe, expect, test } from 'vitest';
import type { SelectionTrace } from '../../src/core/errors.js';
import { describeSelection } from '../../src/core/select.js';

const os = { version: '10.0.22621', alias: 'win11', arch: 'x64' };

describe('describeSelection', () => {
  test('names the version range matched, the arch, the priority, and the candidates passed over', () => {
    const trace: SelectionTrace = {
      uses: 'pool.retag-sites',
      os,
      candidates: [
        { plugin: 'pool', provider: 'immediate-x86', os: 'win2000+', arch: ['x86'], priority: 0, accepted: false, reason: 'arch x64 is not one of x86' },
        { plugin: 'pool', provider: 'immediate-x64', os: 'win10-19h1+', arch: ['x64'], priority: 10, accepted: true, reason: 'chosen (priority 10, 1 other applicable)' },
        { plugin: 'acme', provider: 'generic', priority: 0, accepted: true, reason: 'applies, but outranked by pool/immediate-x64 (priority 10 > 0)' },
      ],
    };
    expect(describeSelection(trace, 'pool', 'immediate-x64')).toBe('Windows 10.0.22621 (win11) x64: matches win10-19h1+ (>=10.0.18362) on x64; priority 10; 1 other not for this target, 1 outranked');
    expect(describeSelection(trace, 'acme', 'generic')).toBe('Windows 10.0.22621 (win11) x64: the provider runs on any version; priority 0; 1 other not for this target, 1 outranked');
  });

  test('a provider missing from the trace still gets the target named', () => {
    expect(describeSelection({ uses: 'x.y', os, candidates: [] }, 'p', 'q')).toBe('chosen for Windows 10.0.22621 (win11) x64');
  });
});
