// HTML to PDF with Chromium's own printing (--print-to-pdf), started per report: no browser library at run time, and
// nothing left running between reports. One report at a time: a Chromium takes a few hundred MB while it prints.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** How long one print may take before it is given up. */
export const PRINT_TIMEOUT_MS = 60_000;

let chain: Promise<unknown> = Promise.resolve();

export function printPdf(chromium: string, html: string): Promise<Buffer> {
  const next = chain.then(() => printNow(chromium, html));
  chain = next.catch(() => undefined);
  return next;
}

async function printNow(chromium: string, html: string): Promise<Buffer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'city-report-'));
  try {
    const page = path.join(dir, 'report.html');
    const out = path.join(dir, 'report.pdf');
    await fs.writeFile(page, html);
    await new Promise<void>((resolve, reject) => {
      execFile(
        chromium,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          `--user-data-dir=${path.join(dir, 'profile')}`,
          '--no-pdf-header-footer',
          `--print-to-pdf=${out}`,
          `file://${page}`,
        ],
        { timeout: PRINT_TIMEOUT_MS, maxBuffer: 1 << 20 },
        (err, _stdout, stderr) =>
          err
            ? reject(
                new Error(
                  `Chromium (${chromium}) could not print the report: ${err.message.split('\n')[0]} ${String(stderr).slice(-300)}`,
                ),
              )
            : resolve(),
      );
    });
    return await fs.readFile(out);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
