/**
 * `pool.hit-tag`: set, verify and clear `nt!PoolHitTag` as the procedure describes. The write
 * goes through the undo log, so `clear` (and the run's cleanup) restores the value the target
 * had — 0xffffff0f by default, not the procedure's 0.
 */
import { defineProvider } from '../../src/core/plugin.js';
import type { StepContext } from '../../src/core/types.js';
import { padTag } from '../../src/kd/common.js';
import { kd, readBytes } from './kd.js';
import { pendingWrites, restoreWrites, trackedWrite } from './undo.js';
import { dwordFromBytes, hex32, tagBytes, tagFromBytes, tagSchema } from './params.js';

/** The symbol the procedure writes. */
export const POOL_HIT_TAG = 'nt!PoolHitTag';
/** Its value when nobody set it: a value no tag matches. */
export const POOL_HIT_TAG_DEFAULT = 0xffffff0f;
/** The undo-log purpose of PoolHitTag writes. */
export const POOL_HIT_TAG_PURPOSE = 'PoolHitTag';

/** `with` of pool.hit-tag. */
export interface HitTagParams {
  action: 'set' | 'verify' | 'clear';
  tag?: string;
  /** Value `clear` writes when this run holds no undo record of PoolHitTag. */
  original?: number;
}

// Read PoolHitTag's four bytes the way the procedure verifies it.
async function readHitTag(ctx: StepContext): Promise<number[]> {
  const reply = await kd(ctx, 'db nt!poolhittag L4');
  const bytes = readBytes(reply.output);
  if (bytes.length < 4) ctx.fail('HIT_TAG_UNREADABLE', `"db nt!poolhittag L4" showed ${bytes.length} bytes, expected 4`);
  return bytes.slice(0, 4);
}

// The PoolHitTag writes this run still holds (any step), oldest first.
function pendingHitTagWrites(ctx: StepContext) {
  return pendingWrites(ctx, POOL_HIT_TAG_PURPOSE).filter((w) => w.record.purpose === POOL_HIT_TAG_PURPOSE);
}

/** pool.hit-tag on every version (2003+ fires on alloc and free; 2000/XP once tagging is on). */
export const hitTag = defineProvider<HitTagParams>({
  uses: 'pool.hit-tag',
  id: 'poolhittag',
  description: 'Set, verify or clear nt!PoolHitTag (the original value is kept in the undo log and restored on clear).',
  with: {
    type: 'object',
    additionalProperties: false,
    required: ['action'],
    properties: {
      action: { type: 'string', enum: ['set', 'verify', 'clear'], description: 'set: write the tag; verify: check it with db; clear: restore the original.' },
      tag: { ...tagSchema, description: 'The tag to break on (set, verify).' },
      original: { type: 'integer', minimum: 0, maximum: 4294967295, description: 'Value clear writes when this run never set PoolHitTag (else it is left as found; the Windows default is 0xffffff0f).' },
    },
    allOf: [
      { if: { properties: { action: { enum: ['set', 'verify'] } }, required: ['action'] }, then: { properties: { tag: true }, required: ['tag'] } },
    ],
  },
  outputs: {
    tag: { type: ['string', 'null'], description: 'The tag PoolHitTag holds after the step (null when it matches no tag).' },
    value: { type: 'integer', description: 'PoolHitTag as a dword after the step.' },
    original: { type: 'integer', description: 'The value PoolHitTag had before this run wrote it.' },
    restored: { type: 'boolean', description: 'clear: the original value is back.' },
  },
  checkCommands(params, ctx) {
    if (params.action === 'set') {
      const later = ctx.atRunTime(params.tag);
      const bytes = later !== undefined ? `<the bytes of ${later}>` : tagBytes(params.tag!).map((b) => b.toString(16).padStart(2, '0')).join(' ');
      return ['db nt!poolhittag L4', `eb nt!PoolHitTag ${bytes}`, 'db nt!poolhittag L4'];
    }
    if (params.action === 'verify') return ['db nt!poolhittag L4'];
    return ['(restore PoolHitTag from the undo log)', 'db nt!poolhittag L4'];
  },
  async run(params, ctx) {
    if (params.action === 'set') {
      const tag = padTag(params.tag!);
      const record = await trackedWrite(ctx, POOL_HIT_TAG, tagBytes(tag), POOL_HIT_TAG_PURPOSE);
      const now = await readHitTag(ctx);
      if (tagFromBytes(now) !== tag) {
        ctx.fail('HIT_TAG_MISMATCH', `PoolHitTag reads "${tagFromBytes(now)}" after writing "${tag}"`);
      }
      const original = dwordFromBytes(pendingHitTagWrites(ctx)[0]?.record.original ?? record.original);
      return {
        status: 'changed',
        outputs: { tag, value: dwordFromBytes(now), original, restored: false },
        summary: `PoolHitTag = "${tag}" (was ${hex32(dwordFromBytes(record.original))})`,
      };
    }
    if (params.action === 'verify') {
      const tag = padTag(params.tag!);
      const now = await readHitTag(ctx);
      if (tagFromBytes(now) !== tag) ctx.fail('HIT_TAG_MISMATCH', `PoolHitTag reads "${tagFromBytes(now)}", expected "${tag}"`);
      const first = pendingHitTagWrites(ctx)[0];
      return {
        status: 'ok',
        outputs: { tag, value: dwordFromBytes(now), original: first ? dwordFromBytes(first.record.original) : dwordFromBytes(now), restored: false },
        summary: `PoolHitTag holds "${tag}"`,
      };
    }
    // clear: undo this run's writes (newest first ends at the value found), else write the given original.
    const records = pendingHitTagWrites(ctx);
    let original: number;
    if (records.length > 0) {
      original = dwordFromBytes(records[0]!.record.original);
      await restoreWrites(records);
    } else {
      // Nothing of ours to undo: leave PoolHitTag as found unless told which value to write.
      const before = dwordFromBytes(await readHitTag(ctx));
      if (params.original === undefined || before === params.original) {
        return { status: 'ok', outputs: { tag: null, value: before, original: before, restored: true }, summary: `PoolHitTag untouched by this run (${hex32(before)})` };
      }
      original = params.original;
      await kd(ctx, `ed nt!PoolHitTag ${(original >>> 0).toString(16)}`);
    }
    const after = dwordFromBytes(await readHitTag(ctx));
    if (after !== original) ctx.fail('HIT_TAG_NOT_RESTORED', `PoolHitTag reads ${hex32(after)} after restoring ${hex32(original)}`);
    return {
      status: 'changed',
      outputs: { tag: null, value: after, original, restored: true },
      summary: `PoolHitTag restored to ${hex32(original)}`,
    };
  },
});

