/**
 * The drivers of one control plane, made on first use from the configuration (or given, for tests),
 * and closed with it.
 */
import type { AirlockConfig } from '../config/index.ts';
import type { Logger } from 'pino';
import { createDriver, sweepLeftovers } from '../sandbox/index.ts';
import type { Driver, DriverName, DriverOptions } from '../sandbox/index.ts';

export interface Drivers {
  driverFor(name: DriverName): Driver;
  /**
   * Removes what control planes that are gone left on the host, for every driver (not only the
   * configured one): a crashed control plane's containers or gVisor sandboxes would otherwise wait
   * for a later session of their own driver. Drivers given by the caller (tests) sweep themselves.
   */
  sweepLeftovers(logger: Logger): Promise<number>;
  closeAll(): Promise<void>;
}

export function createDrivers(
  config: AirlockConfig,
  options: {
    readonly home: string;
    readonly driverOptions?: Omit<DriverOptions, 'stateDir'> | undefined;
    readonly given?: Partial<Readonly<Record<DriverName, Driver>>> | undefined;
  },
): Drivers {
  const drivers = new Map<DriverName, Driver>();
  const driverFor = (name: DriverName): Driver => {
    let driver = drivers.get(name) ?? options.given?.[name];
    if (driver === undefined) {
      driver = createDriver(name, {
        ...options.driverOptions,
        stateDir: options.home,
        // Swept once for every driver at start-up (sweepLeftovers), not again at each first sandbox.
        sweepOnFirstCreate: false,
        uidRange: config.sandbox.uidRange,
        ...(config.sandbox.cgroupParent === undefined ? {} : { cgroupParent: config.sandbox.cgroupParent }),
        ...(config.sandbox.runtime === undefined ? {} : { runtime: config.sandbox.runtime }),
      });
    }
    drivers.set(name, driver);
    return driver;
  };
  return {
    driverFor,
    sweepLeftovers: async (logger) => {
      const given = Object.values(options.given ?? {});
      if (given.length > 0) {
        let removed = 0;
        for (const driver of given) removed += await driver.sweepStale();
        return removed;
      }
      const swept = await sweepLeftovers({
        stateDir: options.home,
        ...(config.sandbox.cgroupParent === undefined ? {} : { cgroupParent: config.sandbox.cgroupParent }),
        ...pick(options.driverOptions, ['dockerSocket', 'runscPath', 'helperPath']),
      });
      for (const entry of swept.drivers) {
        if ('skipped' in entry)
          logger.debug({ driver: entry.driver, reason: entry.skipped }, 'leftovers not swept');
      }
      return swept.removed;
    },
    closeAll: async () => {
      await Promise.allSettled([...drivers.values()].map((driver) => driver.close()));
    },
  };
}

/** The options among `keys` that are set, so absent ones stay absent (exactOptionalPropertyTypes). */
function pick<T extends object, K extends keyof T>(
  from: T | undefined,
  keys: readonly K[],
): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) {
    if (from?.[key] !== undefined) picked[key] = from[key];
  }
  return picked;
}
