export { AirlockError, errorCodes, httpStatusFor, isAirlockError } from './airlock-error.ts';
export type { ErrorCode } from './airlock-error.ts';
