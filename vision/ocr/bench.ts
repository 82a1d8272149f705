// Milliseconds per plate and how many plates are read right, on synthetic plates of the three colours, several
// sizes and car colours, in 1280x720 frames.
//   npx tsx vision/ocr/bench.ts [--plates 40] [--localiser auto|colour|det]
// "Right" compares the alphanumeric part: without a CJK font the province character is not rendered.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { runMain } from '../../runtime/config.js';
import { PlateReader } from './plate-reader.js';
import { BLUE, GREEN, YELLOW, plateScene } from './synthetic.js';

const LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZ'; // no I, O
const ALNUM = LETTERS + '0123456789';

async function main() {
  const { values } = parseArgs({
    options: { plates: { type: 'string', default: '40' }, localiser: { type: 'string', default: 'auto' } },
  });
  const n = Number(values.plates);
  const reader = await PlateReader.open({ localiser: values.localiser as 'auto' });
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = (s: string) => s[Math.floor(rnd() * s.length)]!;
  const ms: number[] = [];
  let right = 0;
  let none = 0;
  let confidenceSum = 0;
  const wrong: string[] = [];
  const byMethod: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const kind = i % 4 === 3 ? 'green' : i % 4 === 2 ? 'yellow' : 'blue';
    const serial = Array.from({ length: kind === 'green' ? 6 : 5 }, () => pick(ALNUM)).join('');
    const truth = `${pick(LETTERS)}${serial}`;
    const s = await plateScene({
      text: `苏${truth[0]}·${truth.slice(1)}`,
      style: kind === 'green' ? GREEN : kind === 'yellow' ? YELLOW : BLUE,
      carColour: ['#b03030', '#d8d8d8', '#1a45b0', '#303030', '#f0f0f0'][i % 5],
      plateWidth: 70 + Math.floor(rnd() * 60),
      quality: 60 + Math.floor(rnd() * 35),
    });
    const t0 = performance.now();
    const r = await reader.read(s.image, s.vehicleBox);
    ms.push(performance.now() - t0);
    if (r) confidenceSum += r.confidence;
    if (!r) none++;
    else if (r.text.endsWith(truth)) right++;
    else wrong.push(`${truth} read ${r.text}`);
    if (r) byMethod[r.method] = (byMethod[r.method] ?? 0) + 1;
  }
  await reader.close();
  const sorted = [...ms].sort((a, b) => a - b);
  process.stdout.write(
    JSON.stringify({
      plates: n,
      localiser: values.localiser,
      right,
      wrong: wrong.length,
      meanConfidence: +(confidenceSum / Math.max(1, n - none)).toFixed(3),
      none,
      byMethod,
      msPerPlate: {
        mean: +(ms.reduce((a, b) => a + b, 0) / n).toFixed(1),
        p50: +sorted[Math.floor(n / 2)]!.toFixed(1),
        p95: +sorted[Math.floor(n * 0.95)]!.toFixed(1),
      },
      examplesWrong: wrong.slice(0, 8),
    }) + '\n',
  );
}

runMain('plate-bench', main);
