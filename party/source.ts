// The Corresponding Source that the AGPL-3.0 of the optional coco weights (section 13) asks a network service to
// offer its users: the platform's own files as it runs them, as one tar.gz at /public/source.tar.gz, unless the
// operator publishes its source elsewhere (SOURCE_URL, which the source page then links to instead).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The folder holding the running code's package.json: the repository when run from source, /app in the image. */
export function installRoot(from = import.meta.dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'LICENSE'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json with a LICENSE above ${from}`);
  }
}

// What is not source: installed packages, the compiled copy, data, caches.
const EXCLUDE = ['./node_modules', './dist', './data', './.git', './.tmp', './.cache'];

/**
 * Builds the archive once (in the OS temp folder) and returns its path; later calls reuse it. tar runs on a copy
 * of nothing: it reads the install folder as it is, which is the code this process runs.
 */
export function sourceArchive(root = installRoot()): () => Promise<string> {
  let built: Promise<string> | null = null;
  return () =>
    (built ??= new Promise<string>((resolve, reject) => {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'city-source-')), 'source.tar.gz');
      const tar = spawn('tar', ['-czf', file, ...EXCLUDE.map((e) => `--exclude=${e}`), '-C', root, '.'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      tar.stderr.on('data', (c: Buffer) => (err += c.toString()).length > 4096 && (err = err.slice(-4096)));
      tar.on('error', (e) => reject(new Error(`cannot run tar to pack the source: ${e.message}`)));
      tar.on('close', (code) =>
        code === 0 ? resolve(file) : reject(new Error(`tar exited with ${code}: ${err.trim().slice(-500)}`)),
      );
    }).catch((e: Error) => {
      built = null; // a later request tries again
      throw e;
    }));
}
