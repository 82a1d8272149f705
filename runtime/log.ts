// One logger for every process. JSON lines for machines (LOG_FORMAT=json, the default when stdout is not a
// terminal), readable lines for people at a terminal.
import { pino, type Logger } from 'pino';

export type { Logger };

/** The variables the logger reads, beside app/config.ts's: README.md's table lists them too. */
export const LOG_VARIABLES = ['LOG_LEVEL', 'LOG_FORMAT'] as const;

export function createLogger(name: string): Logger {
  const level = process.env.LOG_LEVEL ?? 'info';
  const pretty = (process.env.LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json')) === 'pretty';
  return pino({
    name,
    level,
    ...(pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' },
          },
        }
      : {}),
  });
}

/** A logger that drops everything: for library use in tests and benchmarks. */
export const silentLogger: Logger = pino({ level: 'silent' });
