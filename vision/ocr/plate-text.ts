// Chinese licence-plate text (GA 36-2018): a province character, the issuing authority's letter, then five
// characters (six on new-energy plates) of letters and digits, or four and a suffix character (学, 警, 挂, 港, 澳...).
// The dot after the authority letter is printed on the plate but is not part of the number.

const CJK = '\\u4e00-\\u9fff';
const PLATE = new RegExp(`^([${CJK}]?)([A-Z])([A-Z0-9]{5,6}|[A-Z0-9]{4}(?=[${CJK}]$))([${CJK}]?)$`);

/**
 * Text as recorded: full-width forms folded, upper case, separators dropped ('·', spaces, dots, dashes). In the
 * serial part, O and I become 0 and 1: plates never use those letters there, and OCR confuses them.
 */
export function normalisePlateText(raw: string): string {
  const t = raw
    .normalize('NFKC')
    .toUpperCase()
    .replace(new RegExp(`[^A-Z0-9${CJK}]`, 'g'), '');
  const m = PLATE.exec(t);
  if (!m) return t;
  return `${m[1]}${m[2]}${m[3]!.replace(/O/g, '0').replace(/I/g, '1')}${m[4]}`;
}

/**
 * Whether normalised text has the shape of a plate number. The province character is optional: it may not be
 * legible (or, on simulated plates, not rendered when no CJK font is installed).
 */
export function isPlateText(t: string): boolean {
  return PLATE.test(t);
}

/**
 * The plate number in normalised OCR text, or null. A leading Latin character or two before an otherwise complete
 * plate are dropped: a province character misread as a letter (and, on simulated plates drawn without a CJK font,
 * the placeholder glyph) — the number is then reported without its province, as when the province is illegible.
 */
export function extractPlate(t: string): string | null {
  if (isPlateText(t)) return t;
  for (let k = 1; k <= 2 && k < t.length; k++) {
    if (!/[A-Z0-9]/.test(t[k - 1]!)) break;
    const rest = normalisePlateText(t.slice(k));
    if (isPlateText(rest)) return rest;
  }
  return null;
}

/**
 * The plate as vehicles are told apart: normalised, without the province character, which OCR often misses or
 * misreads ("A78699" and "苏A78699" are one vehicle); null for an empty reading.
 */
export function plateKey(raw: string): string | null {
  const t = normalisePlateText(raw).replace(new RegExp(`^[${CJK}]`), '');
  return t.length > 0 ? t : null;
}

/** A reading at least this confident that differs from another is another vehicle; below it, it proves nothing. */
export const CONFIDENT_PLATE = 0.8;

/**
 * Whether two plate readings are of one vehicle: 'same' when their keys match, 'different' when both are confident
 * and differ, 'unknown' otherwise (one unread, or a doubtful reading that differs).
 */
export function comparePlates(
  a: { text: string; confidence: number } | undefined,
  b: { text: string; confidence: number } | undefined,
): 'same' | 'different' | 'unknown' {
  const ka = a ? plateKey(a.text) : null;
  const kb = b ? plateKey(b.text) : null;
  if (!ka || !kb) return 'unknown';
  if (ka === kb) return 'same';
  return a!.confidence >= CONFIDENT_PLATE && b!.confidence >= CONFIDENT_PLATE ? 'different' : 'unknown';
}
