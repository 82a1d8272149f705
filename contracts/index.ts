export * from './readings.js';
export * from './status.js';
export * from './dead-letter.js';
