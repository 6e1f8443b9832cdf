export { buildSeccompFilter, hostSeccompArch } from './filter.ts';
export type { SeccompFilterOptions } from './filter.ts';
export type { SeccompArch } from './syscalls.ts';
