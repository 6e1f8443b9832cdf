/**
 * The drivers of one control plane, made on first use from the configuration (or given, for tests),
 * and closed with it.
 */
import type { AirlockConfig } from '../config/index.ts';
import { createDriver } from '../sandbox/index.ts';
import type { Driver, DriverName, DriverOptions } from '../sandbox/index.ts';

export interface Drivers {
  driverFor(name: DriverName): Driver;
  /** A driver unavailable on this machine has no leftovers to sweep; it fails when a session needs it. */
  available(names: readonly DriverName[]): Driver[];
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
    available: (names) =>
      [...new Set(names)].flatMap((name) => {
        try {
          return [driverFor(name)];
        } catch {
          return [];
        }
      }),
    closeAll: async () => {
      await Promise.allSettled([...drivers.values()].map((driver) => driver.close()));
    },
  };
}
