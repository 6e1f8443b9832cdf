export { buildSeccompFilter, hostSeccompArch, REFUSED_SYSCALLS } from './filter.ts';
export type { SeccompFilterOptions } from './filter.ts';
export type { SeccompArch } from './syscalls.ts';
