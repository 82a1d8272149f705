// Query codes: the party's key to the public record of their event. 80 bits from the CSPRNG, written as 16
// characters of Crockford base32 (no I, L, O or U, so a code read out over the phone or copied from an SMS by hand
// survives the usual confusions). Unguessable by design: the public page answers 404 for anything else, and wrong
// guesses are throttled there (party/).
import crypto from 'node:crypto';

/** Crockford's base32 alphabet. */
export const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Characters of a code: 16 × 5 bits = 80 bits. */
export const CODE_LENGTH = 16;
export const CODE_BITS = CODE_LENGTH * 5;

const VALID = new RegExp(`^[${CODE_ALPHABET}]{${CODE_LENGTH}}$`);

/** A fresh query code: 10 random bytes, 5 bits per character, most significant first. */
export function generateCode(random: (n: number) => Buffer = crypto.randomBytes): string {
  const bytes = random(CODE_BITS / 8);
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CODE_ALPHABET[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

/** The code as shown to people: XXXX-XXXX-XXXX-XXXX. */
export function formatCode(code: string): string {
  return code.match(/.{1,4}/g)?.join('-') ?? code;
}

/**
 * A code as typed by a person, back to its 16 characters: full-width folded, spaces, dashes and dots dropped, upper case, I and L read as 1,
 * O as 0 (Crockford's decoding rules). Null when what remains is not 16 characters of the alphabet.
 */
export function normaliseCode(input: string): string | null {
  if (typeof input !== 'string' || input.length > 64) return null;
  const s = input
    // Full-width characters (a phone's CJK keyboard) fold to ASCII; any dash, dot or underscore is a separator.
    .normalize('NFKC')
    .replace(/[\s\-‐‑–—_.·]/g, '')
    .toUpperCase()
    .replace(/[IL]/g, '1')
    .replace(/O/g, '0');
  return VALID.test(s) ? s : null;
}
