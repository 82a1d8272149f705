// The store contract against the embedded DuckDB store, on a file in a temporary directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { storeContract } from '../store.contract.js';
import { DuckDbStore } from './store.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-duckdb-contract-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

storeContract('duckdb', () => DuckDbStore.open({ file: path.join(dir, 'city.duckdb') }), { duplicateKeeps: 'first' });
