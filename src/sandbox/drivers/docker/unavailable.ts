import { AirlockError } from '../../../errors/index.ts';

export function unavailable(message: string, reason: string): AirlockError {
  return new AirlockError('SANDBOX_UNAVAILABLE', message, { driver: 'docker', reason });
}
