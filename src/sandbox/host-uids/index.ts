export { assertRangeIsFree, rangeConflicts } from './accounts.ts';
export type { AccountFiles } from './accounts.ts';
export { createHostUidAllocator, processesRunAs } from './allocator.ts';
export type { HostIds, HostUidAllocator, HostUidAllocatorOptions, UidLease } from './allocator.ts';
export { DEFAULT_UID_RANGE, formatUidRange, parseUidRange, rangeSize } from './range.ts';
export type { UidRange } from './range.ts';
export { defaultUidLockDir } from './lock-dir.ts';
