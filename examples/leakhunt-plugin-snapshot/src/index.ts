/**
 * leakhunt-plugin-snapshot: `snapshot.poolused`, one `!poolused` snapshot of the tags using the
 * most pool, written to the run directory. A third-party plugin: it imports only leakhunt's
 * public entry points, `leakhunt/plugin` and `leakhunt/kd`.
 */
import { definePlugin, defineProvider, poolTagsUnavailable } from 'leakhunt/plugin';
import { padTag, type PoolusedRow } from 'leakhunt/kd';

/** `with` of snapshot.poolused. */
export interface SnapshotParams {
  /** Pool to rank by: `!poolused 4` sorts by paged bytes, `!poolused 2` by nonpaged. */
  pool?: 'paged' | 'nonpaged';
  /** Tags kept in the output (default 10). */
  top?: number;
  /** Tags that must be in the table (a driver's own tags); a missing one fails the step. */
  require?: string[];
}

/** One tag of the snapshot. */
interface TagUsage {
  tag: string;
  allocs: number;
  bytes: number;
}

// The row's counters in the pool asked for.
function usage(row: PoolusedRow, pool: 'paged' | 'nonpaged'): TagUsage {
  return { tag: row.tag, allocs: row[pool].allocs, bytes: row[pool].bytes };
}

const poolused = defineProvider<SnapshotParams>({
  uses: 'snapshot.poolused',
  id: 'poolused',
  description: 'One !poolused snapshot: the tags using the most paged (or nonpaged) pool, kept in snapshot.json.',
  // !poolused exists on every version leakhunt knows; say so explicitly as a range.
  appliesTo: { os: '>=win2000' },
  with: {
    type: 'object',
    additionalProperties: false,
    properties: {
      pool: { enum: ['paged', 'nonpaged'], description: 'Pool to rank by (default paged).' },
      top: { type: 'integer', minimum: 1, maximum: 1000, description: 'Tags kept (default 10).' },
      require: { type: 'array', items: { type: 'string', pattern: '^[\\x21-\\x7e][\\x20-\\x7e]{0,3}$' }, description: 'Tags that must appear in the table.' },
    },
  },
  outputs: {
    tags: { type: 'array', description: 'The top tags: tag, allocs, bytes; largest first.' },
    bytes: { type: 'integer', description: 'Bytes of all tags in that pool.' },
  },
  checkCommands: (params) => [params.pool === 'nonpaged' ? '!poolused 2' : '!poolused 4'],
  async run(params, ctx) {
    const pool = params.pool ?? 'paged';
    // ctx.kd fails with KD_COMMAND_FAILED on kd's error replies and with POOL_TAGS_UNAVAILABLE
    // (tagging off in this boot, or no symbols) when kd printed no tag table.
    const reply = await ctx.kd(pool === 'paged' ? '!poolused 4' : '!poolused 2', { parse: 'poolused', timeoutMs: 300_000 });
    const rows = reply.parsed.rows;
    if (rows.length === 0) throw poolTagsUnavailable(ctx.facts, 'it listed no tags');
    for (const wanted of params.require ?? []) {
      if (!rows.some((row) => row.tag === padTag(wanted))) ctx.fail('TAG_NOT_FOUND', `tag "${wanted}" is not in the !poolused table (${rows.length} tags)`);
    }
    const tags = rows.map((row) => usage(row, pool)).filter((tag) => tag.bytes > 0).sort((a, b) => b.bytes - a.bytes).slice(0, params.top ?? 10);
    const bytes = rows.reduce((sum, row) => sum + row[pool].bytes, 0);
    ctx.files.writeJson('snapshot.json', { pool, complete: reply.parsed.complete, tags });
    return { status: 'ok', outputs: { tags, bytes }, summary: `${pool} pool: ${bytes} bytes in ${rows.length} tags; largest ${tags[0]?.tag.trim()}` };
  },
});

export default definePlugin({
  name: 'snapshot',
  version: '1.0.0',
  description: 'One-shot !poolused snapshots of the largest pool tags.',
  steps: [poolused],
  errors: {
    TAG_NOT_FOUND: {
      description: 'A tag given in `require` is not in the !poolused table.',
      remedy: 'Check the tag (case matters, up to 4 characters) and that the driver using it is loaded.',
    },
  },
});
