// The words of a notice: the SMS and loudspeaker templates (config/notices.json) filled with the place (the
// camera's published location and the zone's name), the local time, what to correct, the deadline, the formatted
// query code and the link to the party page.
import type { EnforcementEvent } from '../contracts/index.js';
import { formatCode } from './codes.js';
import { renderTemplate, type NoticesConfig, type TemplateVars } from './config.js';
import { localDeadlineText, localTimeText } from './local.js';
import type { Notice } from './types.js';

/** The party page of a code: `${publicBaseUrl}/public/records/${code}`. */
export function recordLink(publicBaseUrl: string, code: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/public/records/${code}`;
}

/** The placeholders' values for one notice. `deadline` is when the grace period ends (the re-check). */
export function noticeVars(o: {
  event: EnforcementEvent;
  notice: Pick<Notice, 'code' | 'party'>;
  deadline: number;
  config: NoticesConfig;
  timeZone: string;
}): TemplateVars {
  const { event, config } = o;
  const t = config.texts[event.type];
  return {
    place: `${event.camera.postedLocation}（${event.zone.name}）`,
    time: localTimeText(event.start, o.timeZone),
    what: t.what,
    deadline: localDeadlineText(o.deadline, event.start, o.timeZone),
    code: formatCode(o.notice.code),
    link: recordLink(config.publicBaseUrl, o.notice.code),
    type: t.name,
    name: o.notice.party?.name ?? '',
    plate: event.plate?.text ?? '',
  };
}

export function smsText(config: NoticesConfig, event: EnforcementEvent, vars: TemplateVars): string {
  return renderTemplate(config.sms.templates[event.type], vars);
}

export function loudspeakerText(config: NoticesConfig, event: EnforcementEvent, vars: TemplateVars): string {
  return renderTemplate(config.loudspeaker.templates[event.type], vars);
}
