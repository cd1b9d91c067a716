/**
 * Line disassembly up with a call's return address: kd's `u` decodes from wherever it starts,
 * so on x86 a start inside an instruction decodes garbage until it resynchronises. A decoding
 * is usable when one of its instructions ends exactly at the return address.
 */

/** The fields of a disassembled instruction this module reads (src/kd's `u` parser shape). */
export interface InstructionLike {
  address: string;
  /** Opcode bytes as kd prints them (`4c8d442420`). */
  bytes: string;
}

/** Does a decoding reach the return address exactly (an instruction ends there)? */
export function endsAt(instructions: readonly InstructionLike[], returnAddress: bigint): boolean {
  return instructions.some((i) => i.bytes !== '' && BigInt(`0x${i.address}`) + BigInt(i.bytes.replace(/[^0-9a-fA-F]/g, '').length / 2) === returnAddress);
}
