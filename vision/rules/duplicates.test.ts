import { describe, expect, it } from 'vitest';
import type { Box } from '../../contracts/events.js';
import { comparePlates, plateKey } from '../ocr/plate-text.js';
import { DuplicateLinks } from './duplicates.js';

const S = 1000;
const T0 = Date.parse('2026-12-07T10:00:00+08:00');
const ev = (id: string, start: number, end: number, box: Box, plate?: [string, number], zone = 'np-1') => ({
  id,
  zone: { id: zone, name: zone },
  role: 'vehicle' as const,
  box,
  start,
  end,
  ...(plate ? { plate: { text: plate[0], confidence: plate[1] } } : {}),
});

describe('plates of one vehicle', () => {
  it('compare without the province character and separators', () => {
    expect(plateKey('苏A78699')).toBe('A78699');
    expect(plateKey('A78699')).toBe('A78699');
    expect(plateKey('苏A·786 99')).toBe('A78699');
    expect(comparePlates({ text: 'A78699', confidence: 0.6 }, { text: '苏A78699', confidence: 0.95 })).toBe('same');
  });
  it('a confident different plate is another vehicle; a doubtful or missing one proves nothing', () => {
    expect(comparePlates({ text: '苏A78699', confidence: 0.9 }, { text: '苏B12345', confidence: 0.9 })).toBe(
      'different',
    );
    expect(comparePlates({ text: '苏A78699', confidence: 0.5 }, { text: '苏B12345', confidence: 0.9 })).toBe('unknown');
    expect(comparePlates(undefined, { text: '苏B12345', confidence: 0.9 })).toBe('unknown');
  });
});

describe('DuplicateLinks', () => {
  const box: Box = [520, 410, 680, 500];
  it('links an event to an earlier one of the same plate read with and without its province, in the same zone', () => {
    const links = new DuplicateLinks();
    links.remember(ev('cam:np-1:45:1', T0, T0 + 330 * S, box, ['A78699', 0.9]));
    // Far apart on the image (a new box after a long occlusion), but the plates say it is the same car.
    expect(
      links.linkOf(ev('cam:np-1:183:2', T0 + 335 * S, T0 + 700 * S, [900, 400, 1000, 480], ['苏A78699', 0.95])),
    ).toBe('cam:np-1:45:1');
  });
  it('without plates, links overlapping boxes within the window; not beyond it, not in another zone', () => {
    const links = new DuplicateLinks({ windowS: 120 });
    links.remember(ev('a', T0, T0 + 330 * S, box));
    expect(links.linkOf(ev('b', T0 + 400 * S, T0 + 800 * S, [590, 410, 750, 500]))).toBe('a');
    expect(links.linkOf(ev('c', T0 + 500 * S, T0 + 900 * S, box))).toBeUndefined();
    expect(links.linkOf(ev('d', T0 + 400 * S, T0 + 800 * S, box, undefined, 'np-2'))).toBeUndefined();
  });
  it('the completed end of the earlier event counts, and two confident different plates are never linked', () => {
    const links = new DuplicateLinks({ windowS: 120 });
    links.remember(ev('a', T0, T0 + 330 * S, box, ['苏A78699', 0.9]));
    links.remember(ev('a', T0, T0 + 1200 * S, box, ['苏A78699', 0.9]));
    expect(links.linkOf(ev('b', T0 + 1250 * S, T0 + 1800 * S, box))).toBe('a');
    expect(links.linkOf(ev('c', T0 + 1250 * S, T0 + 1800 * S, box, ['苏B12345', 0.92]))).toBeUndefined();
  });
});
