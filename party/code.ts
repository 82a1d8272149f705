// Query codes as a party types them: the notices' own codes (notices/codes.ts makes and reads them), under the names
// the public routes use.
export { formatCode as formatQueryCode, normaliseCode as normaliseQueryCode } from '../notices/codes.js';
