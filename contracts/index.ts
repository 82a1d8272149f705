export * from './readings.js';
export * from './status.js';
export * from './signals.js';
export * from './dead-letter.js';
export * from './frames.js';
export * from './events.js';
export * from './rechecks.js';
export * from './commands.js';
