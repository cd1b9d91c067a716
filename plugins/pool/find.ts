/**
 * `pool.find`: `!poolfind` for a tag within a time budget. The scan is slow by nature (the doc's
 * example ran an hour), so a cut-short scan keeps what it found and says it is partial.
 */
import { defineProvider } from '../../src/core/plugin.js';
import type { StepProvider } from '../../src/core/types.js';
import { padTag } from '../../src/kd/common.js';
import { kd, readPoolfind, tickProgress } from './kd.js';
import { durationSchema, poolSchema, poolsOf, tagSchema, tagValue, toMs, type PoolChoice, type PoolName } from './params.js';

/** `with` of pool.find. */
export interface FindParams {
  tag: string;
  pool?: PoolChoice;
  timeout?: string | number;
  maxHits?: number;
}

// The legacy syntax takes a tag value (`0x…`) so a tag with spaces survives; pool type 0/1.
function legacyCommand(tag: string, pool: PoolName): string {
  return `!poolfind 0x${tagValue(tag).toString(16)} ${pool === 'paged' ? 1 : 0}`;
}

// The modern switch syntax quotes the tag as text: a tag with a quote, `;` or backtick (legal
// tag characters) cannot be written there without changing the command, so it is refused.
function modernCommand(tag: string, pool: PoolName): string {
  const problem = unquotable(tag);
  if (problem) throw new Error(problem);
  return `!poolfind -tag "${padTag(tag)}" -${pool}`;
}

// Why a tag cannot be written inside !poolfind -tag "…", or undefined.
function unquotable(tag: string): string | undefined {
  return /[";`]/.test(tag) ? `!poolfind -tag takes the tag as quoted text, which cannot hold ${JSON.stringify(padTag(tag))} (a quote, ; or \` would change the command)` : undefined;
}
/** pool.find for one command syntax. */
function finder(id: string, os: string, command: (tag: string, pool: PoolName) => string): StepProvider<FindParams> {
  return defineProvider<FindParams>({
    uses: 'pool.find',
    id,
    description: `Find a tag's blocks with !poolfind (${id} syntax) within a time budget; partial results are kept and marked.`,
    appliesTo: { os },
    with: {
      type: 'object',
      additionalProperties: false,
      required: ['tag'],
      properties: {
        tag: tagSchema,
        pool: { ...poolSchema, description: 'Pool(s) to scan (default both).' },
        timeout: { ...durationSchema, description: 'Budget for each scan (default 2m).' },
        maxHits: { type: 'integer', minimum: 1, description: 'Keep at most this many hits in the outputs (default 1000).' },
      },
    },
    outputs: {
      hits: { type: 'array', description: 'Blocks found: address, tag, size, pool, state.' },
      count: { type: 'integer', description: 'Allocated blocks found.' },
      bytes: { type: 'integer', description: 'Bytes of the allocated blocks found.' },
      partial: { type: 'boolean', description: 'A scan was cut by the budget: the numbers are a lower bound.' },
    },
    checkCommands(params) {
      return poolsOf(params.pool ?? 'both').map((p) => command(params.tag, p));
    },
    async run(params, ctx) {
      const problem = id === 'modern' ? unquotable(params.tag) : undefined;
      if (problem) ctx.fail('TAG_NOT_QUOTABLE', problem, { hint: 'find its blocks from the stacks PoolHitTag collects (pool.collect-stacks), which never sends the tag as text' });
      const timeoutMs = toMs(params.timeout, 120_000);
      const hits: ReturnType<typeof readPoolfind>['hits'] = [];
      let partial = false;
      for (const pool of poolsOf(params.pool ?? 'both')) {
        // !poolfind scans the whole pool: show seconds spent against the budget while it runs.
        const ticker = tickProgress(ctx, timeoutMs, `seconds of the ${pool} pool scan for "${padTag(params.tag)}" (budget)`);
        const reply = await kd(ctx, command(params.tag, pool), { timeoutMs, allowIncomplete: true }).finally(() => ticker.stop());
        const found = readPoolfind(reply.output);
        if (!reply.complete || !found.complete) partial = true;
        hits.push(...found.hits);
      }
      const allocated = hits.filter((h) => h.state !== 'Free' && h.state !== 'free');
      const bytes = allocated.reduce((sum, h) => sum + h.size, 0);
      return {
        status: 'ok',
        outputs: { hits: hits.slice(0, params.maxHits ?? 1000), count: allocated.length, bytes, partial },
        summary: `${allocated.length} blocks of "${padTag(params.tag)}" (${bytes} bytes)${partial ? ', partial: the scan was cut by its budget' : ''}`,
      };
    },
  });
}

/** Windows 2000 through 8: `!poolfind 0x<tag> 0|1`. */
export const findLegacy = finder('legacy', '<6.3.0', legacyCommand);
/** Windows 8.1 and later: `!poolfind -tag "<tag>" -paged|-nonpaged`. */
export const findModern = finder('modern', '>=6.3.0', modernCommand);
