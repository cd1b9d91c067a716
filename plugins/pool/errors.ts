/**
 * The codes the pool plugin's providers fail with (`ctx.fail`), each with what to do; runs
 * record them as `pool/<CODE>`, and docs/plugin-errors.md is generated from this table.
 */
import type { Plugin } from '../../src/core/types.js';

/** Error codes of the pool plugin. */
export const poolErrors = {
  BAD_WRAPPER_PATTERN: {
    description: 'A `wrappers` pattern of pool.collect-stacks is not `module!function` (an empty part, a space in the module, a control character).',
    remedy: 'Write module!function with * wildcards, e.g. vendorlib!* or vendorlib!VlAlloc*; separate several with commas.',
  },
  DEBUGGER_EXITED: {
    description: 'The debugger process exited while stacks were being collected.',
    remedy: 'Reconnect and run again; the next run restores PoolHitTag and patched bytes from the undo log.',
  },
  HIT_TAG_MISMATCH: {
    description: 'PoolHitTag read back a different tag than the one written (or than `verify` expected).',
    remedy: 'Another debugger or a script changed nt!PoolHitTag; set it again with pool.hit-tag and check nothing else writes it.',
  },
  TAG_NOT_QUOTABLE: {
    description: 'pool.find on Windows 8.1 and later sends the tag as quoted text (`!poolfind -tag "…"`), which cannot hold a tag with a quote, `;` or backtick.',
    remedy: 'Find the blocks from the stacks PoolHitTag collects (pool.collect-stacks): PoolHitTag takes the tag as bytes.',
  },
  HIT_TAG_NOT_RESTORED: {
    description: 'After `clear`, PoolHitTag does not read the value it held before the run.',
    remedy: 'Write the original back by hand (`ed nt!PoolHitTag <value>`, 0xffffff0f by default) and check the target memory is writable.',
  },
  HIT_TAG_UNREADABLE: {
    description: '`db nt!PoolHitTag L4` did not show four bytes.',
    remedy: 'Load nt symbols (symbols.reload) so nt!PoolHitTag resolves.',
  },
  NO_FREE_TAGS: {
    description: 'pool.retag-sites found fewer unused pool tags than call sites to retag.',
    remedy: 'Retag fewer sites at once (narrow the stacks collected), or give a pooltag.txt with `pooltagFile` so more tags are known to be free.',
  },
  RETAG_UNSUPPORTED_ARCH: {
    description: 'pool.retag-sites cannot patch ARM64 code (the tag is built by a movz/movk pair).',
    remedy: 'Rebuild the driver with a distinct tag per allocation site, or rely on pool.collect-stacks pairing.',
  },
  TAGGING_OFF: {
    description: 'pool.collect-stacks got no PoolHitTag break because pool tagging is off in this boot (Windows 2000/XP without GlobalFlag 0x400 at boot), so the break cannot fire.',
    remedy: 'Run playbooks/enable-tagging.yaml first (gflags /r +ptg and a reboot), or find-pool-leak.yaml, which enables tagging itself.',
  },
  TARGET_BUGCHECK: {
    description: 'The target bug-checked while a step let it run.',
    remedy: 'Read the bugcheck code in the message; 0xC2 (BAD_POOL_CALLER) after a retag means a free passed the old tag: retag the free site too or skip retagging.',
  },
  TARGET_REBOOTED: {
    description: 'The target rebooted while stacks were being collected; PoolHitTag does not survive a reboot.',
    remedy: 'Set the hit tag again (pool.hit-tag) and run the collection again.',
  },
  TARGET_STOPPED: {
    description: 'The target stopped by itself (a breakpoint or a break-in from elsewhere) while a step let it run.',
    remedy: 'Clear breakpoints set outside leakhunt and make sure no other debugger client breaks in during the run.',
  },
} as const satisfies Plugin['errors'];
