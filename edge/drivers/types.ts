// The driver interface: a driver turns one device's native output into readings of the wire contract.
// Real protocols (HJ 212, NB-IoT push, Modbus) plug in here beside the simulator.
import type { ReadingInput } from '../../contracts/index.js';
import type { Logger } from '../../runtime/log.js';
import type { DeviceConfig } from '../config.js';

export interface DriverContext {
  device: DeviceConfig;
  logger: Logger;
  /** Hands a reading to the agent, which buffers it on disk before anything else. */
  emit(reading: ReadingInput): void;
  /** The last reading this device buffered, also across restarts, so drivers can resume. */
  lastReading(): { ts: number; seq?: number } | null;
  /**
   * Tells the platform whether the device answers (a polled device that stops answering): published as the device's
   * retained status, which raises the offline health alert at once.
   */
  status?(online: boolean, reason?: string): void;
  /** A driver with a finite script (a test or a replay) calls this when it has produced everything. */
  done?(): void;
}

export interface Driver {
  stop(): void;
}
