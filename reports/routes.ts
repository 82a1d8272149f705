// GET /api/reports/{daily|weekly|monthly}.pdf?date=YYYY-MM-DD: the printable report of the day, week or month that
// contains the date (default today, local), rendered by Chromium (CHROMIUM). Without Chromium the route says so (503).
// An encapsulated plugin: `app.register(reportRoutes, { sources, placeOf, chromium, timeZone })`, with zod schemas.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { contentAnswer, Failure, useZodSchemas } from '../api/schemas.js';
import type { PlaceOf } from '../stats/place.js';
import { STATS_ROLES } from '../stats/routes.js';
import { computeStats, type StatsSources } from '../stats/stats.js';
import { requireRole } from '../users/guard.js';
import { reportHtml } from './html.js';
import { printPdf } from './pdf.js';
import { REPORT_KINDS, reportPeriod } from './period.js';

const Query = z.strictObject({
  date: z.iso.date('date as YYYY-MM-DD').optional(),
  // The page as HTML instead of PDF: for a browser's own print, and to see what the PDF will hold.
  format: z.enum(['pdf', 'html']).default('pdf'),
});

export interface ReportRoutesOptions {
  sources: StatsSources;
  placeOf?: PlaceOf;
  /** Chromium's path (CHROMIUM); the PDF routes answer 503 without it. */
  chromium?: string;
  timeZone: string;
}

export const reportRoutes: FastifyPluginAsyncZod<ReportRoutesOptions> = async (app, o) => {
  // An issue about the query as a whole (an unknown key) is named "body", as before the schemas.
  useZodSchemas(app, 'body');
  for (const kind of REPORT_KINDS) {
    const schema = {
      tags: ['reports'],
      summary: `The printable ${kind} report (zh-CN, A4) of the period that contains the date`,
      querystring: Query,
      response: {
        200: contentAnswer(
          `attachment; filename="report-${kind}-{first day}.pdf", or the page with format=html`,
          'application/pdf',
          'text/html; charset=utf-8',
        ),
        400: Failure,
        503: Failure.describe('a PDF asked of a process without Chromium (CHROMIUM)'),
      },
    };
    app.get(`/api/reports/${kind}.pdf`, { preHandler: requireRole(...STATS_ROLES), schema }, async (req, reply) => {
      const q = req.query;
      if (q.format === 'pdf' && !o.chromium) {
        return reply.code(503).send({
          error: 'reports_unavailable',
          message:
            'PDF reports need Chromium: set CHROMIUM to its path (e.g. /usr/bin/chromium); ?format=html gives the page to print from a browser',
        });
      }
      const period = reportPeriod(kind, q.date, o.timeZone);
      const base = { from: period.from, to: period.to, placeOf: o.placeOf };
      const [byDistrict, byType, bySite] = [
        await computeStats(o.sources, { ...base, group: 'district' }),
        await computeStats(o.sources, { ...base, group: 'type' }),
        await computeStats(o.sources, { ...base, group: 'site' }),
      ];
      const html = reportHtml({ period, byDistrict, byType, bySite, generatedAt: Date.now(), timeZone: o.timeZone });
      const name = `report-${kind}-${period.firstDay}`;
      if (q.format === 'html')
        return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
      const pdf = await printPdf(o.chromium!, html);
      return reply
        .type('application/pdf')
        .header('content-disposition', `attachment; filename="${name}.pdf"`)
        .header('cache-control', 'no-store')
        .send(pdf);
    });
  }
};
