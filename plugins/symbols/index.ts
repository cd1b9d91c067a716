/**
 * The symbols plugin: `symbols.reload`, the procedure's first step. Every later step needs nt's
 * symbols (`nt!PoolHitTag`, the pool tracker tables `!poolused` reads), so the step proves them.
 */
import { definePlugin, defineProvider } from '../../src/core/plugin.js';
import { isKdCommandError } from '../../src/api/plugin.js';

/** `with` of symbols.reload. */
export interface ReloadParams {
  /** `.reload /f`: load now instead of deferring (default true). */
  force?: boolean;
  /** Modules to reload (`nt`, `abcflt`); all when omitted. */
  modules?: string[];
}

// The `.reload` command line for the options.
function reloadCommand(params: ReloadParams): string {
  return ['.reload', ...(params.force === false ? [] : ['/f']), ...(params.modules ?? [])].join(' ');
}

/** symbols.reload on every version. */
export const reload = defineProvider<ReloadParams>({
  uses: 'symbols.reload',
  id: 'reload',
  description: '`.reload [/f] [modules]`, then prove that nt has symbols (nt!PoolHitTag resolves).',
  with: {
    type: 'object',
    additionalProperties: false,
    properties: {
      force: { type: 'boolean', description: 'Load symbols now (/f) instead of deferring (default true).' },
      modules: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.]{0,63}$', title: 'a module name of up to 64 letters, digits, _ or . (not starting with .)' }, maxItems: 64, description: 'Module names to reload (default: all).' },
    },
  },
  outputs: {
    command: { type: 'string', description: 'The .reload command sent.' },
    ntSymbols: { type: 'boolean', description: 'nt!PoolHitTag resolves.' },
    poolHitTagAddress: { type: 'string', description: 'Address of nt!PoolHitTag.' },
  },
  checkCommands(params) {
    return [reloadCommand(params), 'dd nt!PoolHitTag L1'];
  },
  async run(params, ctx) {
    const command = reloadCommand(params);
    // kd's error replies come back from ctx.kd as KD_COMMAND_FAILED; this step names them its own way.
    await ctx.kd(command, { timeoutMs: 600_000, parse: false }).catch((error: unknown) => {
      if (isKdCommandError(error)) ctx.fail('RELOAD_FAILED', `"${command}" failed: ${error.kdReply.message}`);
      throw error;
    });
    const probe = await ctx.kd('dd nt!PoolHitTag L1', { parse: 'dd' }).catch((error: unknown) => {
      if (!isKdCommandError(error)) throw error;
      return ctx.fail('NT_SYMBOLS_MISSING', `nt has no usable symbols: "dd nt!PoolHitTag L1" answered "${error.kdReply.message}"`, {
        hint: 'set the symbol path (.sympath srv*C:\\symbols*https://msdl.microsoft.com/download/symbols or _NT_SYMBOL_PATH) and run .reload /f nt',
      });
    });
    const address = probe.parsed.address;
    return {
      status: 'ok',
      outputs: { command, ntSymbols: true, poolHitTagAddress: address },
      summary: `${command}: nt symbols loaded (nt!PoolHitTag at ${address})`,
    };
  },
});

export default definePlugin({
  name: 'symbols',
  version: '0.1.0',
  description: 'Reload symbols and prove nt has them.',
  errors: {
    NT_SYMBOLS_MISSING: { description: 'After .reload, nt!PoolHitTag still does not resolve: nt has no usable symbols.', remedy: 'Set the symbol path (.sympath srv*C:\\symbols*https://msdl.microsoft.com/download/symbols or _NT_SYMBOL_PATH) and run .reload /f nt.' },
    RELOAD_FAILED: { description: 'kd answered `.reload` with an error reply.', remedy: 'Check the module names given to symbols.reload and the symbol path.' },
  },
  steps: [reload],
});
