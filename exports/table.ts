// A table as rows that arrive a few at a time, and its two file forms: CSV and Excel (.xlsx). Both are streamed, so an
// export of millions of rows holds only a page of them in memory (bench/export.ts measures it).
import { PassThrough, Readable } from 'node:stream';
import { once } from 'node:events';

export type Cell = string | number | boolean | null | undefined;

export interface Column {
  key: string;
  /** The header row's text: zh-CN first, the key in English after it, so both readers and scripts find the column. */
  header: string;
}

export interface Table {
  /** The sheet's name in Excel. */
  name: string;
  columns: readonly Column[];
  rows: AsyncIterable<readonly Cell[]>;
}

/**
 * A text cell as written to a file: spreadsheet programs run a cell that begins with = + - @ (or a tab or CR before
 * one) as a formula, so a device id or a note someone typed could run one on the reader's machine (CSV injection).
 * Such text gets a leading apostrophe. Numbers are written as numbers.
 */
export function safeText(s: string): string {
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}

function csvCell(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'string') return String(v);
  const s = safeText(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV in UTF-8 with a byte-order mark (without it Excel on a zh-CN Windows reads the text as GBK). */
export function csvStream(t: Table): Readable {
  async function* lines(): AsyncGenerator<string> {
    yield '\uFEFF' + t.columns.map((c) => csvCell(c.header)).join(',') + '\r\n';
    let chunk = '';
    for await (const row of t.rows) {
      chunk += row.map(csvCell).join(',') + '\r\n';
      // Rows leave in chunks of about 64 KiB: one write per row would cost more than the text itself.
      if (chunk.length >= 65_536) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  return Readable.from(lines(), { objectMode: false });
}

/** Excel's limit is 1,048,576 rows a sheet: a longer export goes on in a second sheet ("readings (2)"), and so on. */
export const XLSX_ROWS_PER_SHEET = 1_048_575;

/**
 * An .xlsx written as it goes with exceljs's streaming WorkbookWriter (rows are committed and leave; no shared
 * strings table, which would keep every distinct text in memory). The writer does not wait for its reader, so the
 * rows are read only while what waits in the output stays under its high-water mark.
 */
export function xlsxStream(t: Table, o: { rowsPerSheet?: number } = {}): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const perSheet = o.rowsPerSheet ?? XLSX_ROWS_PER_SHEET;
  void (async () => {
    const { default: ExcelJS } = await import('exceljs');
    const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: false, useStyles: false });
    let sheetNo = 0;
    let ws = wb.addWorksheet(t.name);
    const header = () => ws.addRow(t.columns.map((c) => c.header)).commit();
    header();
    let n = 0;
    for await (const row of t.rows) {
      if (n === perSheet) {
        ws.commit();
        ws = wb.addWorksheet(`${t.name} (${++sheetNo + 1})`);
        header();
        n = 0;
      }
      // Text in an .xlsx is a string cell, never a formula: no apostrophe needed here.
      ws.addRow(row.map((v) => v ?? null)).commit();
      n++;
      if (out.writableNeedDrain) await once(out, 'drain');
    }
    ws.commit();
    await wb.commit();
  })().catch((e: Error) => out.destroy(e));
  return out;
}
