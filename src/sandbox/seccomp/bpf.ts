import { AirlockError } from '../../errors/index.ts';

// Classic BPF for seccomp: the few instructions the filter uses, a block assembler with local
// labels, and the encoding the kernel (and bwrap --seccomp) reads.

// Classic BPF opcodes (linux/bpf_common.h), pre-combined: class | size/op | source.
const BPF_LD_W_ABS = 0x20;
export const BPF_JMP_JEQ_K = 0x15;
export const BPF_JMP_JGE_K = 0x35;
export const BPF_JMP_JSET_K = 0x45;
const BPF_RET_K = 0x06;

// The kernel refuses longer programs (BPF_MAXINSNS); jt/jf are u8 relative offsets.
const BPF_MAXINSNS = 4096;
const BPF_MAX_JUMP = 255;
const SOCK_FILTER_BYTES = 8;

// ---------------------------------------------------------------------------------------------
// A tiny block assembler. Each block's labels are local to it, and the only label a block can
// jump to outside itself is END, the first instruction after it. Every jump therefore stays
// within its block, which keeps offsets far below the u8 limit; assemble() still checks.

export const END = 'end';

export type Step =
  | { readonly kind: 'label'; readonly name: string }
  | {
      readonly kind: 'op';
      readonly code: number;
      readonly k: number;
      // null falls through to the next instruction (offset 0).
      readonly jt: string | null;
      readonly jf: string | null;
    };

interface SockFilter {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

export function op(code: number, k: number, jt: string | null = null, jf: string | null = null): Step {
  return { kind: 'op', code, k, jt, jf };
}

export function label(name: string): Step {
  return { kind: 'label', name };
}

export const loadWord = (offset: number): Step => op(BPF_LD_W_ABS, offset);
export const ret = (action: number): Step => op(BPF_RET_K, action);

export function assembleBlock(steps: readonly Step[]): SockFilter[] {
  const labels = new Map<string, number>();
  let count = 0;
  for (const step of steps) {
    if (step.kind === 'op') {
      count += 1;
    } else if (step.name === END || labels.has(step.name)) {
      throw new AirlockError('INTERNAL', 'seccomp block defines a label twice', { label: step.name });
    } else {
      labels.set(step.name, count);
    }
  }
  labels.set(END, count);

  const offsetTo = (target: string | null, from: number): number => {
    if (target === null) return 0;
    const index = labels.get(target);
    if (index === undefined) {
      throw new AirlockError('INTERNAL', 'seccomp jump to an unknown label', { label: target });
    }
    const offset = index - (from + 1);
    if (offset < 0 || offset > BPF_MAX_JUMP) {
      throw new AirlockError('INTERNAL', 'seccomp jump out of u8 range', { label: target, offset });
    }
    return offset;
  };

  const out: SockFilter[] = [];
  for (const step of steps) {
    if (step.kind === 'label') continue;
    const index = out.length;
    out.push({ code: step.code, k: step.k, jt: offsetTo(step.jt, index), jf: offsetTo(step.jf, index) });
  }
  return out;
}

export function encode(program: readonly SockFilter[]): Buffer {
  const last = program.at(-1);
  if (last === undefined || last.code !== BPF_RET_K) {
    throw new AirlockError('INTERNAL', 'seccomp program must end in RET');
  }
  if (program.length > BPF_MAXINSNS) {
    throw new AirlockError('INTERNAL', 'seccomp program is longer than the kernel accepts', {
      instructions: program.length,
    });
  }
  const buffer = Buffer.alloc(program.length * SOCK_FILTER_BYTES);
  program.forEach((instruction, index) => {
    const at = index * SOCK_FILTER_BYTES;
    buffer.writeUInt16LE(instruction.code, at);
    // writeUInt8 throws a RangeError past 255, a second guard behind assembleBlock's check.
    buffer.writeUInt8(instruction.jt, at + 2);
    buffer.writeUInt8(instruction.jf, at + 3);
    buffer.writeUInt32LE(instruction.k >>> 0, at + 4);
  });
  return buffer;
}
