/**
 * Waits for a new sandbox's supervisor to answer, at most `timeoutMs`: a sandbox that never reports
 * ready (a runtime stuck starting, a helper that crashed before its first frame) must become a
 * clear start failure, not a create() that hangs forever.
 */
export async function withinStartTimeout(answered: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      answered,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
