/**
 * `make` run at most once at a time and its result kept, unless it fails: a driver whose daemon or
 * binary was missing at the first call tries again at the next instead of failing forever.
 */
export function onceUnlessFailed<T>(make: () => Promise<T>): {
  get(): Promise<T>;
  current(): Promise<T> | undefined;
} {
  let made: Promise<T> | undefined;
  return {
    get() {
      made ??= make().catch((error: unknown) => {
        made = undefined;
        throw error;
      });
      return made;
    },
    current: () => made,
  };
}
