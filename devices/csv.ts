// The registry as CSV, for bulk import and export: one device a line, the columns below, UTF-8. An export imports
// back unchanged (the round trip is tested), so a city edits its devices in a spreadsheet and loads them again.
import { safeText } from '../exports/table.js';
import type { Device } from './types.js';

export const CSV_COLUMNS = [
  'id',
  'kind',
  'district',
  'lat',
  'lon',
  'gridCell',
  'address',
  'siteName',
  'siteParty',
  'siteContact',
  'ruleGroup',
  'installedAt',
  'commissionedAt',
  'status',
] as const;
type Column = (typeof CSV_COLUMNS)[number];

/**
 * A text cell: quoted when it holds a separator, and with a leading apostrophe when it starts like a formula
 * (= + - @), which spreadsheet programs would run (CSV injection). Numbers are written as they are.
 */
function cell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  const s = safeText(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The devices as CSV with a byte-order mark (Excel on a zh-CN Windows reads UTF-8 without one as GBK). */
export function devicesToCsv(devices: readonly Device[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const d of devices) {
    const v: Record<Column, string | number | null> = {
      id: d.id,
      kind: d.kind,
      district: d.district,
      lat: d.location.lat,
      lon: d.location.lon,
      gridCell: d.gridCell,
      address: d.address,
      siteName: d.site?.name ?? null,
      siteParty: d.site?.party ?? null,
      siteContact: d.site?.contact ?? null,
      ruleGroup: d.ruleGroup,
      installedAt: d.installedAt,
      commissionedAt: d.commissionedAt,
      status: d.status,
    };
    lines.push(CSV_COLUMNS.map((c) => cell(v[c])).join(','));
  }
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

/** RFC 4180 records (quoted fields may hold commas, quotes and line breaks); CRLF or LF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (quoted) throw new Error('a quoted field is not closed');
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  // Blank lines (a spreadsheet's trailing ones) are no devices.
  return rows.filter((r) => r.some((f) => f.trim() !== ''));
}

/**
 * The rows of an imported CSV as registry inputs, with their line numbers, for `DeviceRegistry.upsertMany` to
 * validate. The header names the columns (any order; unknown ones are an error, so a misspelt column is not silently
 * dropped); empty cells are "not given".
 */
export function csvToInputs(text: string): { line: number; input: Record<string, unknown> }[] {
  const rows = parseCsv(text);
  const header = rows.shift();
  if (!header) throw new Error('the CSV is empty: its first line names the columns');
  const names = header.map((h) => h.trim());
  const unknown = names.filter((n) => !(CSV_COLUMNS as readonly string[]).includes(n));
  if (unknown.length)
    throw new Error(`unknown column(s) ${unknown.join(', ')}; the columns are ${CSV_COLUMNS.join(', ')}`);
  for (const need of ['id', 'kind', 'district', 'lat', 'lon'] as const)
    if (!names.includes(need)) throw new Error(`the CSV has no column ${need}`);
  return rows.map((r, n) => {
    const v: Partial<Record<Column, string>> = {};
    names.forEach((name, j) => {
      // A leading apostrophe is what the export put before text that looks like a formula.
      const raw = (r[j] ?? '').trim().replace(/^'(?=[=+\-@])/, '');
      if (raw !== '') v[name as Column] = raw;
    });
    const num = (s: string | undefined) => (s === undefined ? undefined : Number.isFinite(Number(s)) ? Number(s) : s);
    const input: Record<string, unknown> = {
      id: v.id,
      kind: v.kind,
      district: v.district,
      location: { lat: num(v.lat), lon: num(v.lon) },
      address: v.address ?? '',
      site: v.siteName
        ? {
            name: v.siteName,
            ...(v.siteParty ? { party: v.siteParty } : {}),
            ...(v.siteContact ? { contact: v.siteContact } : {}),
          }
        : null,
      ruleGroup: v.ruleGroup ?? null,
      installedAt: v.installedAt ?? null,
      commissionedAt: v.commissionedAt ?? null,
      status: v.status ?? 'active',
    };
    if (v.gridCell) input.gridCell = v.gridCell;
    return { line: n + 2, input };
  });
}
