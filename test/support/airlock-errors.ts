/** The AirlockError a call throws (or a promise rejects with), for asserting its code and details. */
import { AirlockError } from '../../src/errors/index.ts';

export function thrownAirlockError(run: () => unknown): AirlockError {
  try {
    run();
  } catch (error) {
    if (error instanceof AirlockError) return error;
    throw error;
  }
  throw new Error('expected an AirlockError, but nothing was thrown');
}

export async function rejectedAirlockError(work: Promise<unknown> | (() => unknown)): Promise<AirlockError> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    if (error instanceof AirlockError) return error;
    throw error;
  }
  throw new Error('expected an AirlockError, but it succeeded');
}
