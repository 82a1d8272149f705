import fs from 'node:fs';
// Configuration errors are the user's to fix, so they end the process with a message that says what to change,
// never with a stack trace.
import type { z } from 'zod';

export class ConfigError extends Error {}

/**
 * Reads a JSON config file for `parseConfig`. `what` names it in the error ("rules file", "camera registry"): a
 * missing file and broken JSON are ConfigErrors that say which file and what is wrong.
 */
export function readJsonFile(file: string, what = 'config file'): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError(
      err.code === 'ENOENT' ? `${what} ${file} does not exist` : `${what} ${file} is not valid JSON: ${err.message}`,
    );
  }
}

export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, source: string): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `  - ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  throw new ConfigError(`invalid configuration in ${source}:\n${lines.join('\n')}`);
}

/** Runs main(); a ConfigError (or other user mistake) prints its message and exits 2, anything else exits 1. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    if (e instanceof ConfigError) {
      process.stderr.write(`${name}: ${e.message}\n`);
      process.exit(2);
    }
    // node:util parseArgs' refusals (an unknown option, a missing value, a stray argument) are a user's typing, not a
    // crash: the message, no stack.
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
      process.stderr.write(
        `${name}: ${(e as Error).message} (see the header of the command's source or its README for its options)\n`,
      );
      process.exit(2);
    }
    process.stderr.write(`${name}: fatal: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}

/** Resolves on the first SIGINT or SIGTERM; a second one exits at once. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let seen = false;
    const on = (sig: NodeJS.Signals) => {
      if (seen) process.exit(130);
      seen = true;
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
