/**
 * Where things live in the simulated address space of each profile: driver load area, pool
 * regions and kernel stacks. The ranges follow addresses seen in real transcripts of each era
 * (XP: drivers at f7xxxxxx, paged pool at e1xxxxxx; Win7 x64: fffff880`…/fffffa80`…/fffff8a0`…;
 * Win10: ffffa60c`… nonpaged, ffff9108`… paged); exact bases are the simulator's choice.
 */
import type { SimProfile } from '../profiles.js';
import type { PoolKind } from '../kernel-api.js';

/** Address-space layout of one profile. */
export interface AddressLayout {
  /** First driver image; later ones follow at 0x10000-aligned steps. */
  driverBase: bigint;
  /** Start of each pool's region; every workload source gets its own span inside it. */
  poolBase: Record<PoolKind, bigint>;
  /** Bytes of pool address space reserved per workload source. */
  sourceSpan: bigint;
  /** Top of the first kernel thread stack; each source's thread gets its own. */
  stackTop: bigint;
  /** Size of the pool header in front of every block (8 on x86, 16 on x64). */
  poolHeaderSize: number;
}

/** The layout of a profile's address space. */
export function addressLayout(profile: SimProfile): AddressLayout {
  if (profile.arch === 'x86') {
    const classicXp = profile.major === 5;
    return {
      driverBase: classicXp ? 0xf7a00000n : 0x9a200000n,
      poolBase: classicXp ? { paged: 0xe1000000n, nonpaged: 0x82000000n } : { paged: 0x8f000000n, nonpaged: 0x84e00000n },
      sourceSpan: 0x00800000n,
      stackTop: classicXp ? 0xf78c0000n : 0x8c6f0000n,
      poolHeaderSize: 8,
    };
  }
  if (profile.major === 5) {
    return {
      driverBase: 0xfffffadff1000000n,
      poolBase: { paged: 0xfffffa8000000000n, nonpaged: 0xfffffadfe0000000n },
      sourceSpan: 0x10000000n,
      stackTop: 0xfffffadfe8ff0000n,
      poolHeaderSize: 16,
    };
  }
  if (profile.major === 6 && profile.minor <= 1) {
    return {
      driverBase: 0xfffff88001000000n,
      poolBase: { paged: 0xfffff8a000000000n, nonpaged: 0xfffffa8000400000n },
      sourceSpan: 0x10000000n,
      stackTop: 0xfffff88002f00000n,
      poolHeaderSize: 16,
    };
  }
  return {
    driverBase: profile.kernelBase + 0x3000000n,
    poolBase: { paged: 0xffff910800000000n, nonpaged: 0xffffa60c00000000n },
    sourceSpan: 0x10000000n,
    stackTop: 0xffff82871fbd8000n,
    poolHeaderSize: 16,
  };
}
