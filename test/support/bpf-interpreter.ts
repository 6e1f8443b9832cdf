/**
 * A classic-BPF interpreter for seccomp programs, for tests only. It accepts the subset a seccomp
 * filter built by Airlock uses, applies the kernel's load-time checks (jump targets inside the
 * program, aligned loads inside struct seccomp_data, RET last) and throws on anything else, so an
 * unexpected instruction fails a test instead of being skipped.
 */

export interface SeccompData {
  readonly nr: number;
  readonly arch: number;
  readonly instructionPointer?: bigint;
  /** Up to six u64 arguments; missing ones are zero. */
  readonly args?: readonly bigint[];
}

export interface SockFilter {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

const SOCK_FILTER_BYTES = 8;
const BPF_MAXINSNS = 4096;
const SECCOMP_DATA_BYTES = 64;

const BPF_LD_W_ABS = 0x20;
const BPF_JMP_JA = 0x05;
const BPF_JMP_JEQ_K = 0x15;
const BPF_JMP_JGT_K = 0x25;
const BPF_JMP_JGE_K = 0x35;
const BPF_JMP_JSET_K = 0x45;
const BPF_RET_K = 0x06;

const conditionalJumps = new Set([BPF_JMP_JEQ_K, BPF_JMP_JGT_K, BPF_JMP_JGE_K, BPF_JMP_JSET_K]);

export function decodeProgram(program: Buffer): SockFilter[] {
  if (program.length === 0 || program.length % SOCK_FILTER_BYTES !== 0) {
    throw new Error(`program length ${program.length} is not a positive multiple of 8`);
  }
  const count = program.length / SOCK_FILTER_BYTES;
  if (count > BPF_MAXINSNS) throw new Error(`program has ${count} instructions, over BPF_MAXINSNS`);
  const instructions: SockFilter[] = [];
  for (let index = 0; index < count; index += 1) {
    const at = index * SOCK_FILTER_BYTES;
    instructions.push({
      code: program.readUInt16LE(at),
      jt: program.readUInt8(at + 2),
      jf: program.readUInt8(at + 3),
      k: program.readUInt32LE(at + 4),
    });
  }
  checkProgram(instructions);
  return instructions;
}

/** The static checks the kernel runs before it accepts a seccomp filter. */
function checkProgram(instructions: readonly SockFilter[]): void {
  instructions.forEach((instruction, index) => {
    const { code, jt, jf, k } = instruction;
    if (code === BPF_LD_W_ABS) {
      if (k >= SECCOMP_DATA_BYTES || k % 4 !== 0) throw new Error(`bad load offset ${k} at ${index}`);
    } else if (conditionalJumps.has(code)) {
      if (index + 1 + Math.max(jt, jf) >= instructions.length) {
        throw new Error(`jump out of the program at ${index}`);
      }
    } else if (code === BPF_JMP_JA) {
      if (index + 1 + k >= instructions.length) throw new Error(`jump out of the program at ${index}`);
    } else if (code !== BPF_RET_K) {
      throw new Error(`unsupported opcode 0x${code.toString(16)} at ${index}`);
    }
  });
  if (instructions.at(-1)?.code !== BPF_RET_K) throw new Error('program does not end in RET');
}

function encodeSeccompData(data: SeccompData): Buffer {
  const buffer = Buffer.alloc(SECCOMP_DATA_BYTES);
  buffer.writeUInt32LE(data.nr >>> 0, 0);
  buffer.writeUInt32LE(data.arch >>> 0, 4);
  buffer.writeBigUInt64LE(data.instructionPointer ?? 0n, 8);
  const args = data.args ?? [];
  if (args.length > 6) throw new Error('seccomp_data has six arguments');
  args.forEach((value, index) => buffer.writeBigUInt64LE(value, 16 + 8 * index));
  return buffer;
}

/** Runs the program against one syscall and returns the SECCOMP_RET_* value. */
export function runSeccompProgram(program: Buffer, data: SeccompData): number {
  const instructions = decodeProgram(program);
  const input = encodeSeccompData(data);
  let accumulator = 0;
  let pc = 0;
  for (;;) {
    const instruction = instructions[pc];
    if (instruction === undefined) throw new Error(`fell off the program at ${pc}`);
    const { code, jt, jf, k } = instruction;
    pc += 1;
    switch (code) {
      case BPF_LD_W_ABS:
        accumulator = input.readUInt32LE(k);
        break;
      case BPF_JMP_JA:
        pc += k;
        break;
      case BPF_JMP_JEQ_K:
        pc += accumulator === k ? jt : jf;
        break;
      case BPF_JMP_JGT_K:
        pc += accumulator > k ? jt : jf;
        break;
      case BPF_JMP_JGE_K:
        pc += accumulator >= k ? jt : jf;
        break;
      case BPF_JMP_JSET_K:
        pc += (accumulator & k) >>> 0 !== 0 ? jt : jf;
        break;
      case BPF_RET_K:
        return k;
      default:
        throw new Error(`unsupported opcode 0x${code.toString(16)}`);
    }
  }
}
