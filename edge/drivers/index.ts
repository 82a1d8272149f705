import type { DeviceConfig } from '../config.js';
import { simulatorDriver } from './simulator/driver.js';
import { modbusDriver } from './modbus/driver.js';
import type { Driver, DriverContext } from './types.js';

export type { Driver, DriverContext };

export function startDriver(device: DeviceConfig, ctx: DriverContext): Driver {
  switch (device.driver.type) {
    case 'simulator':
      return simulatorDriver(device.driver, ctx);
    case 'modbus':
      return modbusDriver(device.driver, ctx);
  }
}
