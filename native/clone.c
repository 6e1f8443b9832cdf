/*
 * launch_clone() for each supported architecture (see raw-syscall.h).
 */
#include "raw-syscall.h"

#if defined(__x86_64__)
__asm__(".text\n"
        ".globl launch_clone\n"
        ".type launch_clone,@function\n"
        "launch_clone:\n"
        "  and $-16, %rsi\n"
        "  sub $16, %rsi\n"
        "  mov %rdi, (%rsi)\n"   /* fn, popped by the child */
        "  mov %rcx, 8(%rsi)\n"  /* arg */
        "  mov %rdx, %rdi\n"     /* flags */
        "  xor %edx, %edx\n"     /* parent_tid */
        "  xor %r10d, %r10d\n"   /* child_tid */
        "  xor %r8d, %r8d\n"     /* tls */
        "  mov $56, %eax\n"      /* SYS_clone */
        "  syscall\n"
        "  test %rax, %rax\n"
        "  jnz 1f\n"
        "  xor %ebp, %ebp\n"
        "  pop %rax\n"
        "  pop %rdi\n"
        "  call *%rax\n"
        "  mov %eax, %edi\n"
        "  mov $60, %eax\n"      /* SYS_exit */
        "  syscall\n"
        "  hlt\n"
        "1:\n"
        "  ret\n"
        ".size launch_clone, .-launch_clone\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl launch_clone\n"
        ".type launch_clone,%function\n"
        "launch_clone:\n"
        "  and x1, x1, #-16\n"
        "  stp x0, x3, [x1, #-16]!\n" /* fn and arg, popped by the child */
        "  mov x0, x2\n"              /* flags */
        "  mov x2, xzr\n"             /* parent_tid */
        "  mov x3, xzr\n"             /* tls */
        "  mov x4, xzr\n"             /* child_tid */
        "  mov x8, #220\n"            /* SYS_clone */
        "  svc #0\n"
        "  cbz x0, 1f\n"
        "  ret\n"
        "1:\n"
        "  ldp x1, x0, [sp], #16\n"
        "  blr x1\n"
        "  mov x8, #93\n"             /* SYS_exit */
        "  svc #0\n"
        "  brk #0\n"
        ".size launch_clone, .-launch_clone\n");
#endif
