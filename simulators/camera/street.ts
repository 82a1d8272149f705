// The static street behind everything that moves: buildings and shop fronts, the sidewalk, the curb, the road with
// its lane lines, the painted no-parking zones and parking bays. Rendered once per scenario.
import { ppmAt, vppmAt, type ShopGeom, type StreetLayout } from './layout.js';
import { Rng } from './rng.js';

export type Light = 'day' | 'dusk';

const f = (v: number) => (Math.round(v * 10) / 10).toString();

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Mixes two #rrggbb colours: t = 0 gives a, 1 gives b. */
export function mixColour(a: string, b: string, t: number): string {
  const pa = parseInt(a.slice(1), 16);
  const pb = parseInt(b.slice(1), 16);
  const ch = (sh: number) => Math.round(((pa >> sh) & 255) * (1 - t) + ((pb >> sh) & 255) * t);
  return `#${((1 << 24) | (ch(16) << 16) | (ch(8) << 8) | ch(0)).toString(16).slice(1)}`;
}
export const shade = (c: string, t: number) => (t >= 0 ? mixColour(c, '#ffffff', t) : mixColour(c, '#000000', -t));

function rect(x: number, y: number, w: number, h: number, fill: string, extra = ''): string {
  return `<rect x="${f(x)}" y="${f(y)}" width="${f(Math.max(0, w))}" height="${f(Math.max(0, h))}" fill="${fill}"${extra}/>`;
}

function building(l: StreetLayout, b: StreetLayout['buildings'][number], rng: Rng, light: Light): string {
  const p = l.ppmStore;
  const groundTop = l.storeY - 3.6 * p;
  const top = groundTop - b.floors * 3 * p;
  const out: string[] = [rect(b.x0, top, b.x1 - b.x0, groundTop - top, b.wall)];
  out.push(rect(b.x0, groundTop - 0.25 * p, b.x1 - b.x0, 0.25 * p, shade(b.wall, -0.15)));
  // Window columns every 2.6–3.4 m.
  const bay = rng.float(2.6, 3.4) * p;
  const cols = Math.max(1, Math.floor((b.x1 - b.x0) / bay));
  const colW = (b.x1 - b.x0) / cols;
  const winW = colW * rng.float(0.5, 0.7);
  const winH = rng.float(1.4, 1.8) * p;
  for (let fl = 0; fl < b.floors; fl++) {
    const fy = groundTop - (fl + 1) * 3 * p;
    out.push(rect(b.x0, fy + 3 * p - 0.12 * p, b.x1 - b.x0, 0.12 * p, shade(b.wall, -0.08)));
    for (let c = 0; c < cols; c++) {
      const wx = b.x0 + c * colW + (colW - winW) / 2;
      const wy = fy + 0.7 * p;
      const lit = light === 'dusk' && rng.chance(0.35);
      out.push(rect(wx - 3, wy - 3, winW + 6, winH + 6, b.frame));
      out.push(rect(wx, wy, winW, winH, lit ? '#e9c98a' : shade(b.window, rng.float(-0.15, 0.15))));
      out.push(rect(wx + winW / 2 - 1.5, wy, 3, winH, b.frame));
      if (b.acUnits && rng.chance(0.35))
        out.push(
          rect(wx + winW * 0.1, wy + winH + 6, 0.8 * p, 0.5 * p, '#e4e4e0', ` stroke="#9a9a96" stroke-width="1"`),
        );
    }
  }
  return out.join('');
}

function shopFront(l: StreetLayout, s: ShopGeom, rng: Rng, light: Light): string {
  const p = l.ppmStore;
  const y0 = l.storeY;
  const groundTop = y0 - 3.6 * p;
  const signH = 0.9 * p;
  const out: string[] = [];
  out.push(rect(s.x0, groundTop, s.x1 - s.x0, y0 - groundTop, s.wall));
  // Sign band with the shop's name.
  const sx0 = s.x0 + 0.15 * p;
  const sw = s.x1 - s.x0 - 0.3 * p;
  out.push(
    rect(
      sx0,
      groundTop + 0.08 * p,
      sw,
      signH,
      s.sign,
      light === 'dusk' ? ` stroke="${shade(s.sign, 0.4)}" stroke-width="2"` : '',
    ),
  );
  const fs = Math.min(signH * 0.62, (sw / Math.max(3, s.nameEn.length)) * 1.3);
  const cx = Math.max(s.x0, 0) / 2 + Math.min(s.x1, l.width) / 2;
  out.push(
    `<text x="${f(cx)}" y="${f(groundTop + 0.08 * p + signH * 0.5 + fs * 0.36)}" font-family="DejaVu Sans" font-weight="bold" font-size="${f(fs)}" fill="${s.signText}" text-anchor="middle">${esc(s.nameEn)}</text>`,
  );
  const openTop = groundTop + signH + 0.25 * p;
  // Openings: shutters rolled up show the lit or dark interior with shelves of goods; glass shows reflections.
  const interior = light === 'dusk' ? mixColour(s.interior, '#f0d8a8', 0.55) : s.interior;
  // What the open front shows depends on the trade: shelves of goods, a restaurant's counter and menu, a salon's
  // mirrors and chairs, a bright showroom.
  const trade = ['NOODLES', 'HOTPOT', 'BBQ', 'DUMPLING', 'BAOZI', 'CAFE', 'TEA', 'BAKERY', 'SEAFOOD'].includes(s.nameEn)
    ? 'food'
    : s.nameEn === 'SALON' || s.nameEn === 'LAUNDRY'
      ? 'salon'
      : ['MOBILE', 'OPTICAL', 'PHARMACY'].includes(s.nameEn)
        ? 'showroom'
        : 'shelves';
  const shelves = (o: { x0: number; x1: number }) => {
    const back = trade === 'showroom' ? (light === 'dusk' ? '#f4ecd8' : '#d9dcde') : interior;
    const parts: string[] = [rect(o.x0, openTop, o.x1 - o.x0, y0 - openTop, back)];
    const w = o.x1 - o.x0;
    if (trade === 'food') {
      // Menu boards and lamps above a counter.
      for (let mx = o.x0 + 0.2 * p; mx < o.x1 - 1.0 * p; mx += rng.float(1.0, 1.4) * p) {
        parts.push(
          rect(
            mx,
            openTop + 0.2 * p,
            0.8 * p,
            0.45 * p,
            rng.pick(['#f4e4bc', '#2d2d2d', '#b33a2b']),
            ' stroke="#222" stroke-width="1"',
          ),
        );
        parts.push(
          `<circle cx="${f(mx + 0.4 * p)}" cy="${f(openTop + 0.95 * p)}" r="${f(0.12 * p)}" fill="${light === 'dusk' ? '#ffe9a8' : '#d8c79a'}"/>`,
        );
      }
      parts.push(
        rect(o.x0 + 0.1 * w, y0 - 1.05 * p, 0.8 * w, 1.05 * p, rng.pick(['#8b5a2b', '#6d4c41', '#9e9e9e', '#c8b08a'])),
      );
      parts.push(rect(o.x0 + 0.1 * w, y0 - 1.1 * p, 0.8 * w, 0.1 * p, '#e0d6c8'));
    } else if (trade === 'salon') {
      for (let mx = o.x0 + 0.3 * p; mx < o.x1 - 0.8 * p; mx += 1.2 * p) {
        parts.push(rect(mx, openTop + 0.3 * p, 0.7 * p, 1.0 * p, '#b8cbd6', ' stroke="#ddd" stroke-width="3"'));
        parts.push(rect(mx + 0.1 * p, y0 - 0.9 * p, 0.5 * p, 0.5 * p, '#2b2b2b'));
        parts.push(rect(mx + 0.28 * p, y0 - 0.4 * p, 0.14 * p, 0.4 * p, '#777'));
      }
    } else if (trade === 'showroom') {
      for (let mx = o.x0 + 0.3 * p; mx < o.x1 - 1.0 * p; mx += rng.float(1.1, 1.6) * p) {
        parts.push(
          rect(
            mx,
            openTop + 0.25 * p,
            0.8 * p,
            1.0 * p,
            rng.pick(['#1e88e5', '#e53935', '#43a047', '#212121', '#fb8c00']),
            ' opacity="0.85"',
          ),
        );
      }
      parts.push(
        rect(o.x0 + 0.05 * w, y0 - 0.95 * p, 0.9 * w, 0.95 * p, '#eeeeee', ' stroke="#b0b0b0" stroke-width="2"'),
      );
      parts.push(rect(o.x0 + 0.05 * w, y0 - 0.95 * p, 0.9 * w, 0.3 * p, '#a9c7d8', ' opacity="0.8"'));
    } else {
      const rows = 4;
      for (let r = 0; r < rows; r++) {
        const ry = openTop + 0.35 * p + r * 0.5 * p;
        parts.push(rect(o.x0 + 0.1 * p, ry, w - 0.2 * p, 3, shade(interior, 0.25)));
        for (let gx = o.x0 + 0.15 * p; gx < o.x1 - 0.3 * p; gx += rng.float(0.15, 0.3) * p) {
          const gh = rng.float(0.12, 0.35) * p;
          parts.push(
            rect(
              gx,
              ry - gh,
              rng.float(0.08, 0.2) * p,
              gh,
              rng.pick(['#c0392b', '#e67e22', '#f1c40f', '#27ae60', '#2980b9', '#ecf0f1', '#8e44ad', '#d35400']),
            ),
          );
        }
      }
    }
    parts.push(rect(o.x0, openTop - 0.22 * p, w, 0.22 * p, '#8d9093'));
    for (let i = 1; i < 4; i++) parts.push(rect(o.x0, openTop - 0.22 * p + i * 0.055 * p, w, 1, '#6d7073'));
    return parts.join('');
  };
  const glass = (o: { x0: number; x1: number }, door: boolean) => {
    const g = light === 'dusk' ? '#c9b894' : rng.pick(['#7f97a8', '#8ea6b5', '#6f8899']);
    const parts: string[] = [rect(o.x0, openTop, o.x1 - o.x0, y0 - openTop, g)];
    parts.push(
      `<polygon points="${f(o.x0 + (o.x1 - o.x0) * 0.2)},${f(openTop)} ${f(o.x0 + (o.x1 - o.x0) * 0.45)},${f(openTop)} ${f(o.x0 + (o.x1 - o.x0) * 0.15)},${f(y0)} ${f(o.x0 - (o.x1 - o.x0) * 0.1)},${f(y0)}" fill="#ffffff" opacity="0.18"/>`,
    );
    const panes = Math.max(1, Math.round((o.x1 - o.x0) / (1.2 * p)));
    for (let i = 0; i <= panes; i++)
      parts.push(rect(o.x0 + (i * (o.x1 - o.x0)) / panes - 2, openTop, 4, y0 - openTop, '#404448'));
    parts.push(rect(o.x0, openTop, o.x1 - o.x0, 4, '#404448'));
    if (door) parts.push(rect((o.x0 + o.x1) / 2 - 3, openTop + 1.1 * p, 6, 0.4 * p, '#c0c0c0'));
    return parts.join('');
  };
  const inner = { x0: s.x0 + 0.35 * p, x1: s.x1 - 0.35 * p };
  if (s.front === 'shutter') out.push(shelves(inner));
  else if (s.front === 'glass') {
    out.push(glass(inner, false));
    out.push(glass(s.door, true));
  } else {
    out.push(glass(inner, false));
    for (const o of s.openings) out.push(shelves(o));
  }
  if (s.awning) {
    const a = s.awning;
    const ay = openTop - 0.1 * p;
    const drop = 0.7 * p;
    const stripes = Math.max(4, Math.round((inner.x1 - inner.x0) / (0.5 * p)));
    for (let i = 0; i < stripes; i++) {
      const ax0 = inner.x0 + ((inner.x1 - inner.x0) * i) / stripes;
      const ax1 = inner.x0 + ((inner.x1 - inner.x0) * (i + 1)) / stripes;
      out.push(rect(ax0, ay, ax1 - ax0, drop, i % 2 ? a.stripe : a.colour));
    }
    for (let i = 0; i < stripes; i++) {
      const ax0 = inner.x0 + ((inner.x1 - inner.x0) * i) / stripes;
      const w = (inner.x1 - inner.x0) / stripes;
      out.push(
        `<path d="M${f(ax0)},${f(ay + drop)} q${f(w / 2)},${f(0.18 * p)} ${f(w)},0 z" fill="${i % 2 ? a.stripe : a.colour}"/>`,
      );
    }
  }
  // Pillars and the step at the store line.
  out.push(rect(s.x0, openTop - 0.3 * p, 0.35 * p, y0 - openTop + 0.3 * p, shade(s.wall, -0.1)));
  out.push(rect(s.x1 - 0.35 * p, openTop - 0.3 * p, 0.35 * p, y0 - openTop + 0.3 * p, shade(s.wall, -0.1)));
  out.push(rect(s.x0, y0 - 3, s.x1 - s.x0, 4, shade(s.wall, -0.35)));
  return out.join('');
}

function sidewalk(l: StreetLayout, top: number, bottom: number, rng: Rng): string {
  const { sidewalk: c, sidewalkLine: lc, tileM } = l.palette;
  const W = l.width;
  const out: string[] = [rect(-200, top, W + 400, bottom - top, c)];
  const clip = `walk${Math.round(top)}`;
  out.push(
    `<clipPath id="${clip}"><rect x="-200" y="${f(top)}" width="${W + 400}" height="${f(bottom - top)}"/></clipPath>`,
  );
  out.push(
    `<g clip-path="url(#${clip})">${rect(-200, top, W + 400, bottom - top, '#000000', ' filter="url(#grain)" opacity="0.25"')}</g>`,
  );
  // Tile joints: rows get further apart towards the camera, columns fan out.
  for (let y = top; y < bottom;) {
    y += tileM * vppmAt(l, y);
    if (y < bottom - 2) out.push(rect(-200, y, W + 400, 1.2, lc));
  }
  const kTop = ppmAt(l, top);
  const kBot = ppmAt(l, bottom);
  const step = tileM * kTop;
  const cx = W / 2;
  for (let x = cx - Math.ceil((cx + 200) / step) * step; x < W + 200; x += step) {
    out.push(
      `<line x1="${f(x)}" y1="${f(top)}" x2="${f(cx + ((x - cx) * kBot) / kTop)}" y2="${f(bottom)}" stroke="${lc}" stroke-width="1.2"/>`,
    );
  }
  // A few stains and patched tiles.
  for (let i = 0; i < 6; i++) {
    out.push(
      `<ellipse cx="${f(rng.float(0, W))}" cy="${f(rng.float(top, bottom))}" rx="${f(rng.float(10, 40))}" ry="${f(rng.float(3, 10))}" fill="${shade(c, rng.float(-0.15, 0.1))}" opacity="0.5"/>`,
    );
  }
  return out.join('');
}

function markings(l: StreetLayout): string {
  const out: string[] = [];
  const ppm = ppmAt(l, (l.curbY + l.parkY) / 2);
  const lineW = Math.max(3, 0.15 * ppm * l.tiltK * 1.6);
  const top = l.curbY + 3;
  const bot = l.parkY - 3;
  const yellow = '#e8c222';
  for (const b of l.bays) {
    out.push(
      `<rect x="${f(b.x0)}" y="${f(top)}" width="${f(b.x1 - b.x0)}" height="${f(bot - top)}" fill="none" stroke="${b.colour}" stroke-width="${f(lineW)}" opacity="0.9"/>`,
    );
    out.push(
      `<text x="${f((b.x0 + b.x1) / 2)}" y="${f(bot - (bot - top) * 0.2)}" font-family="DejaVu Sans" font-weight="bold" font-size="${f((bot - top) * 0.45)}" fill="${b.colour}" opacity="0.7" text-anchor="middle">P</text>`,
    );
  }
  l.noParking.forEach((z, i) => {
    if (z.style === 'zigzag') {
      const period = 1.1 * ppm;
      const n = Math.max(2, Math.round((z.x1 - z.x0) / period));
      const pts: string[] = [];
      const yA = top + (bot - top) * 0.18;
      const yB = bot - (bot - top) * 0.18;
      for (let k = 0; k <= n * 2; k++) pts.push(`${f(z.x0 + ((z.x1 - z.x0) * k) / (n * 2))},${f(k % 2 ? yB : yA)}`);
      out.push(
        `<polyline points="${pts.join(' ')}" fill="none" stroke="${yellow}" stroke-width="${f(lineW)}" stroke-linejoin="miter" opacity="0.92"/>`,
      );
      out.push(`<rect x="${f(z.x0)}" y="${f(top)}" width="${f(lineW)}" height="${f(bot - top)}" fill="${yellow}"/>`);
      out.push(
        `<rect x="${f(z.x1 - lineW)}" y="${f(top)}" width="${f(lineW)}" height="${f(bot - top)}" fill="${yellow}"/>`,
      );
      out.push(
        `<rect x="${f(z.x0)}" y="${f(l.curbY)}" width="${f(z.x1 - z.x0)}" height="${f(lineW * 0.8)}" fill="${yellow}"/>`,
      );
    } else {
      const id = `hz${i}`;
      out.push(
        `<clipPath id="${id}"><rect x="${f(z.x0)}" y="${f(top)}" width="${f(z.x1 - z.x0)}" height="${f(bot - top)}"/></clipPath>`,
      );
      const sp = 0.9 * ppm;
      const h = bot - top;
      const lines: string[] = [];
      for (let x = z.x0 - h; x < z.x1 + h; x += sp) {
        lines.push(`M${f(x)},${f(top)} l${f(h)},${f(h)} M${f(x)},${f(bot)} l${f(h)},${f(-h)}`);
      }
      out.push(
        `<path d="${lines.join(' ')}" stroke="${yellow}" stroke-width="${f(lineW * 0.8)}" clip-path="url(#${id})" opacity="0.9"/>`,
      );
      out.push(
        `<rect x="${f(z.x0)}" y="${f(top)}" width="${f(z.x1 - z.x0)}" height="${f(h)}" fill="none" stroke="${yellow}" stroke-width="${f(lineW)}"/>`,
      );
    }
  });
  return out.join('');
}

function road(l: StreetLayout, rng: Rng): string {
  const W = l.width;
  const out: string[] = [];
  const bottom = l.nearWalk ? l.roadBottom : l.height + 200;
  out.push(rect(-200, l.curbY, W + 400, bottom - l.curbY, l.palette.road));
  // Asphalt grain, clipped: librsvg's filter region of a skewed element reaches past the element.
  out.push(
    `<clipPath id="roadclip"><rect x="-200" y="${f(l.curbY)}" width="${W + 400}" height="${f(bottom - l.curbY)}"/></clipPath>`,
  );
  out.push(
    `<g clip-path="url(#roadclip)">${rect(-200, l.curbY, W + 400, bottom - l.curbY, '#000000', ' filter="url(#grain)" opacity="0.5"')}</g>`,
  );
  for (let i = 0; i < 8; i++) {
    const y = rng.float(l.curbY, Math.min(bottom, l.height));
    out.push(
      `<ellipse cx="${f(rng.float(0, W))}" cy="${f(y)}" rx="${f(rng.float(15, 90))}" ry="${f(rng.float(3, 14))}" fill="${shade(l.palette.road, rng.float(-0.2, 0.12))}" opacity="0.55"/>`,
    );
  }
  if (rng.chance(0.5)) {
    const lane = l.lanes[0]!;
    const y = (lane.top + lane.bottom) / 2;
    const r = 0.35 * ppmAt(l, y);
    out.push(
      `<ellipse cx="${f(rng.float(0.1, 0.9) * W)}" cy="${f(y)}" rx="${f(r)}" ry="${f(r * l.tiltK * 1.2)}" fill="#3c3d3f" stroke="#6a6b6d" stroke-width="2"/>`,
    );
  }
  const mark = l.palette.laneMark;
  const lw = (y: number) => Math.max(3, 0.15 * ppmAt(l, y) * l.tiltK * 1.8);
  // Edge of the curb lane.
  out.push(rect(-200, l.parkY - lw(l.parkY) / 2, W + 400, lw(l.parkY), mark, ' opacity="0.85"'));
  for (let i = 0; i + 1 < l.lanes.length; i++) {
    const a = l.lanes[i]!;
    const y = a.bottom;
    const w = lw(y);
    if (a.dir !== l.lanes[i + 1]!.dir) {
      out.push(rect(-200, y - w * 1.3, W + 400, w, '#e0b81f'));
      out.push(rect(-200, y + w * 0.3, W + 400, w, '#e0b81f'));
    } else {
      const ppm = ppmAt(l, y);
      const off = rng.float(0, 6 * ppm);
      for (let x = -200 - off; x < W + 200; x += 6 * ppm)
        out.push(rect(x, y - w / 2, 2 * ppm, w, mark, ' opacity="0.9"'));
    }
  }
  // Curb: top face and the vertical face.
  const cTop = 0.22 * vppmAt(l, l.curbY);
  out.push(rect(-200, l.curbY - cTop, W + 400, cTop, l.palette.curb));
  out.push(rect(-200, l.curbY, W + 400, 0.1 * ppmAt(l, l.curbY), shade(l.palette.curb, -0.3)));
  if (l.nearWalk) {
    const y = l.roadBottom;
    out.push(rect(-200, y, W + 400, 0.12 * ppmAt(l, y), shade(l.palette.curb, -0.1)));
    out.push(sidewalk(l, y + 0.12 * ppmAt(l, y), l.height + 50, rng));
  }
  return out.join('');
}

/** The SVG of the static street, without anything that moves. */
export function streetSvg(l: StreetLayout, light: Light): string {
  const rng = Rng.of(l.seed, 'street');
  const W = l.width;
  const H = l.height;
  const parts: string[] = [];
  parts.push(rect(-200, -400, W + 400, H + 800, l.palette.sky));
  for (const b of l.buildings) parts.push(building(l, b, rng, light));
  for (const s of l.shops) parts.push(shopFront(l, s, rng, light));
  parts.push(sidewalk(l, l.storeY + 1, l.curbY, rng));
  // The step in front of each shop at the store line.
  parts.push(rect(-200, l.storeY, W + 400, 3, l.palette.sidewalkLine));
  parts.push(road(l, rng));
  parts.push(markings(l));
  const grainSeed = rng.int(1, 1000);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">` +
    `<defs><filter id="grain" x="0" y="0" width="100%" height="100%"><feTurbulence type="fractalNoise" baseFrequency="0.8" numOctaves="2" seed="${grainSeed}"/>` +
    `<feColorMatrix values="0 0 0 0 0  0 0 0 0 0  0 0 0 0 0  1.6 0 0 0 -0.7"/></filter></defs>` +
    `<g transform="matrix(1 ${l.slope} 0 1 0 ${f((-l.slope * W) / 2)})">${parts.join('')}</g></svg>`
  );
}
