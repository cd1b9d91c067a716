/**
 * Letting kd run on by itself past PoolHitTag stops a per-hit collection does not need to halt
 * at. kd tells the stops apart only by where the target stopped: the `int 3` of the allocator's
 * break (`@$ip`) and the return address of the function holding it (`@$ra`). The same pair is an
 * allocation or a free on every pass (nt!DbgBreakPoint called from the insert or the remove
 * tracker on 2000–Vista; an `int 3` inside the allocation or the free function later), so the
 * pairs seen at stops the tool has classified from their stacks say what a new stop at the same
 * pair is. A pair ever seen with two different classifications is never run past.
 *
 * Where the allocator breaks inline in the allocation function (Windows 7 x86, 8.1 and 10
 * classic pool), `@$ra` of an allocation stop is its call site's return address itself, so an
 * allocation at a site whose breakpoint is armed can be run past too: the breakpoint prints its
 * block as it returns.
 *
 * The event command counts the stops down from a limit the tool sets on each go's line: at the
 * last stop it may look at (where `count` or the end of the watch can come), kd halts whatever
 * the stop is. kd prints the stack at every stop, so the tool reads the stops it ran past from
 * the go's output afterwards, in order, as if it had halted at each.
 */
import type { Classification } from '../../src/evidence/classify.js';

/** Pairs named in one condition at most (kd's command line stays short). */
const MAX_PAIRS = 8;

/** Stops one go may count down from at most: bounds the tool's look ahead (a halt more every so many stops is nothing). */
export const MAX_RUN_ON_STOPS = 256;

/** Stop locations seen, with the operation the stops there were classified as. */
export class StopKinds {
  private readonly seen = new Map<string, { ip: string; ra: string; operation: Classification['operation'] | 'mixed' }>();

  /** A classified stop at `ip` (the `int 3`'s address) in a function returning to `ra` (frame 0's RetAddr). */
  learn(ip: string | undefined, ra: string | undefined, operation: Classification['operation']): void {
    if (ip === undefined || ra === undefined) return;
    const key = `${ip}:${ra}`;
    const known = this.seen.get(key);
    if (!known) this.seen.set(key, { ip, ra, operation });
    else if (known.operation !== operation) known.operation = 'mixed';
  }

  /**
   * The MASM condition true at a stop of a pair `include` takes, among those where one operation
   * only was ever seen (at most MAX_PAIRS pairs, first seen first); undefined when there is none.
   * On a 32-bit target both sides are cut to 32 bits, so kd's sign extension of kernel addresses
   * cannot make them differ.
   */
  condition(pointerSize: 4 | 8, include: (pair: { ra: string; operation: 'alloc' | 'free' }) => boolean): string | undefined {
    const byIp = new Map<string, string[]>();
    let pairs = 0;
    for (const { ip, ra, operation } of this.seen.values()) {
      if ((operation !== 'alloc' && operation !== 'free') || !include({ ra, operation }) || pairs >= MAX_PAIRS) continue;
      pairs++;
      byIp.set(ip, [...(byIp.get(ip) ?? []), ra]);
    }
    if (byIp.size === 0) return undefined;
    const equals = (register: string, hex: string): string => (pointerSize === 4 ? `((@${register} & 0x0\`ffffffff) == 0x0\`${hex})` : `(@${register} == 0x${hex})`);
    const any = (terms: string[]): string => (terms.length === 1 ? terms[0]! : `(${terms.join(' | ')})`);
    return any([...byIp].map(([ip, ras]) => `(${equals('$ip', ip)} & ${any(ras.map((ra) => equals('$ra', ra)))})`));
  }
}

/** The bpe event command that prints each stop's stack and runs on past those `condition` is true at, within the limit. */
export function runOnCommand(condition: string): string {
  return `sxe -c "r @$t1=@$t1-1; kb; j ((@$t1 > 0) & ${condition}) 'g' ; ''" bpe`;
}

/** The command on a go's line that lets kd run past at most `stops` − 1 stops (it halts at the `stops`-th). */
export function runOnLimit(stops: number): string {
  return `r @$t1=0n${stops}`;
}
