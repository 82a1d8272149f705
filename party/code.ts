// Query codes as a party types them: 16 characters of Crockford base32 (80 bits, notices/codes.ts makes them),
// usually shown grouped as XXXX-XXXX-XXXX-XXXX. The same folding as notices' normaliseCode: separators and case do
// not matter, and the letters people confuse with digits (I, L, O) read as the digits.

const CROCKFORD = /^[0-9A-HJKMNP-TV-Z]{16}$/;

/** The stored form of a code a person typed, or null when it cannot be a code (then the answer is a plain 404). */
export function normaliseQueryCode(input: string): string | null {
  if (input.length > 64) return null;
  const t = input
    .normalize('NFKC')
    .replace(/[\s\-‐‑–—_.·]/g, '')
    .toUpperCase()
    .replace(/[IL]/g, '1')
    .replace(/O/g, '0');
  return CROCKFORD.test(t) ? t : null;
}

/** XXXX-XXXX-XXXX-XXXX, for reading aloud and typing back. */
export function formatQueryCode(code: string): string {
  return code.replace(/(.{4})(?=.)/g, '$1-');
}
