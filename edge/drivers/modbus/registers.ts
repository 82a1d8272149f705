// The register map as requests and values: which reads cover the map in few requests, and how words become numbers.
import { WORDS, type RegisterConfig } from './config.js';

/** The Modbus limit for one read of holding or input registers (function codes 3 and 4). */
export const MAX_READ_WORDS = 125;

export interface ReadBlock {
  table: 'holding' | 'input';
  start: number;
  /** Words to read. */
  length: number;
  registers: RegisterConfig[];
}

/** Groups the map into reads: per table, by address, merging registers no more than maxGapWords apart. */
export function planReads(registers: readonly RegisterConfig[], maxGapWords: number): ReadBlock[] {
  const blocks: ReadBlock[] = [];
  for (const table of ['holding', 'input'] as const) {
    const regs = registers.filter((r) => r.table === table).sort((a, b) => a.address - b.address);
    let cur: ReadBlock | null = null;
    for (const r of regs) {
      const end = r.address + WORDS[r.type];
      if (cur) {
        const curEnd = cur.start + cur.length;
        const newEnd = Math.max(curEnd, end);
        if (r.address - curEnd <= maxGapWords && newEnd - cur.start <= MAX_READ_WORDS) {
          cur.length = newEnd - cur.start;
          cur.registers.push(r);
          continue;
        }
      }
      cur = { table, start: r.address, length: end - r.address, registers: [r] };
      blocks.push(cur);
    }
  }
  return blocks;
}

// Scaling 0.1 turns 123 into 12.300000000000001; 12 significant digits keep every real digit and drop that noise.
const tidy = (v: number) => Number(v.toPrecision(12));

/** The raw value of a register from the words of its block (words[i] is register block.start + i). */
export function rawValue(words: readonly number[], index: number, r: RegisterConfig): number {
  const w0 = words[index]! & 0xffff;
  if (WORDS[r.type] === 1) return r.type === 'int16' ? (w0 << 16) >> 16 : w0;
  const w1 = words[index + 1]! & 0xffff;
  const [hi, lo] = r.wordOrder === 'big' ? [w0, w1] : [w1, w0];
  const buf = Buffer.alloc(4);
  buf.writeUInt16BE(hi, 0);
  buf.writeUInt16BE(lo, 2);
  switch (r.type) {
    case 'int32':
      return buf.readInt32BE(0);
    case 'uint32':
      return buf.readUInt32BE(0);
    default:
      // A float32 holds about 7 significant digits; more would be representation noise (3.7 reads 3.700000047...).
      return Number(buf.readFloatBE(0).toPrecision(7));
  }
}

/** The metric value, or null when the register holds no number (a float NaN or infinity). */
export function registerValue(words: readonly number[], index: number, r: RegisterConfig): number | null {
  const raw = rawValue(words, index, r);
  if (!Number.isFinite(raw)) return null;
  const v = tidy(raw * r.scale + r.offset);
  return Number.isFinite(v) ? v : null;
}
