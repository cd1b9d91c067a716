/**
 * Storage of individually tracked pool blocks: struct-of-arrays with a LIFO free list (so a
 * freed slot, and with it its address, is reused first, as a lookaside list would) and a
 * min-heap of blocks by free time. No objects per block: the workload's hot path allocates
 * nothing.
 */

/** Blocks of one workload source; the index of a block is also its address slot. */
export class BlockTable {
  size = new Int32Array(64);
  tag = new Int32Array(64);
  allocTime = new Float64Array(64);
  freeTime = new Float64Array(64);
  /** 1 while the slot holds an outstanding block. */
  alive = new Uint8Array(64);
  private freeSlots = new Int32Array(64);
  private freeCount = 0;
  /** One past the highest slot ever used. */
  highWater = 0;
  /** Slots in use. */
  live = 0;

  /** Take a slot (the most recently released one first). */
  take(): number {
    this.live++;
    let slot: number;
    if (this.freeCount > 0) slot = this.freeSlots[--this.freeCount]!;
    else {
      slot = this.highWater++;
      if (slot >= this.size.length) this.grow();
    }
    this.alive[slot] = 1;
    return slot;
  }

  /** Give a slot back. */
  release(slot: number): void {
    this.live--;
    this.alive[slot] = 0;
    if (this.freeCount >= this.freeSlots.length) {
      const larger = new Int32Array(this.freeSlots.length * 2);
      larger.set(this.freeSlots);
      this.freeSlots = larger;
    }
    this.freeSlots[this.freeCount++] = slot;
  }

  /** Forget every block. */
  clear(): void {
    this.freeCount = 0;
    this.highWater = 0;
    this.live = 0;
    this.alive.fill(0);
  }

  // Double every column.
  private grow(): void {
    const capacity = this.size.length * 2;
    this.size = growInt(this.size, capacity);
    this.tag = growInt(this.tag, capacity);
    this.allocTime = growFloat(this.allocTime, capacity);
    this.freeTime = growFloat(this.freeTime, capacity);
    const alive = new Uint8Array(capacity);
    alive.set(this.alive);
    this.alive = alive;
  }
}

/** A min-heap of block slots ordered by their free time. */
export class FreeHeap {
  items = new Int32Array(64);
  length = 0;
  constructor(private readonly table: BlockTable) {}

  /** Slot with the earliest free time (heap must not be empty). */
  peek(): number {
    return this.items[0]!;
  }

  /** Earliest free time, or Infinity. */
  peekTime(): number {
    return this.length === 0 ? Infinity : this.table.freeTime[this.items[0]!]!;
  }

  /** Add a slot keyed by table.freeTime[slot]. */
  push(slot: number): void {
    if (this.length >= this.items.length) this.items = growInt(this.items, this.items.length * 2);
    const times = this.table.freeTime;
    const key = times[slot]!;
    let index = this.length++;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const parentSlot = this.items[parent]!;
      if (times[parentSlot]! <= key) break;
      this.items[index] = parentSlot;
      index = parent;
    }
    this.items[index] = slot;
  }

  /** Remove and return the earliest slot. */
  pop(): number {
    const top = this.items[0]!;
    const last = this.items[--this.length]!;
    if (this.length > 0) {
      const times = this.table.freeTime;
      const key = times[last]!;
      let index = 0;
      const half = this.length >> 1;
      while (index < half) {
        let child = 2 * index + 1;
        const right = child + 1;
        if (right < this.length && times[this.items[right]!]! < times[this.items[child]!]!) child = right;
        if (times[this.items[child]!]! >= key) break;
        this.items[index] = this.items[child]!;
        index = child;
      }
      this.items[index] = last;
    }
    return top;
  }

  /** Forget every entry. */
  clear(): void {
    this.length = 0;
  }
}

/** A growable list of slots with O(1) removal by position (order not kept). */
export class SlotList {
  items = new Int32Array(64);
  length = 0;

  /** Append a slot. */
  push(slot: number): void {
    if (this.length >= this.items.length) this.items = growInt(this.items, this.items.length * 2);
    this.items[this.length++] = slot;
  }

  /** Remove the slot at a position by moving the last one there; returns the removed slot. */
  removeAt(position: number): number {
    const slot = this.items[position]!;
    this.items[position] = this.items[--this.length]!;
    return slot;
  }

  /** Forget every entry. */
  clear(): void {
    this.length = 0;
  }
}

// Copy into a larger Int32Array.
function growInt(array: Int32Array, capacity: number): Int32Array<ArrayBuffer> {
  const larger = new Int32Array(capacity);
  larger.set(array);
  return larger;
}

// Copy into a larger Float64Array.
function growFloat(array: Float64Array, capacity: number): Float64Array<ArrayBuffer> {
  const larger = new Float64Array(capacity);
  larger.set(array);
  return larger;
}
