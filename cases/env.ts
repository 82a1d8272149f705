// The environment variables of case dispatch (README of cases/), read by app/config.ts for every role.
import { z } from 'zod';

/** Empty strings count as unset. */
export const CaseEnvSchema = z.object({
  CASE_WEBHOOK_URL: z.string().optional(),
  CASE_WEBHOOK_SECRET: z.string().optional(),
  CASE_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().optional(),
  CASE_RETRY_BASE_MS: z.coerce.number().int().optional(),
  CASE_RETRY_MAX_MS: z.coerce.number().int().optional(),
  CASE_EVIDENCE_BASE_URL: z.string().optional(),
  CASE_CODES_FILE: z.string().optional(),
});
