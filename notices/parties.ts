// Who is told about a confirmed event: the shop whose frontage a camera zone covers, or the keeper of a vehicle by
// its plate. Shops come from config/parties.json (PARTIES_FILE) and from `shopId` on storefront zones of the camera
// registry; vehicles from a static list (the demo) and then from the city's own plate service through an HTTP
// lookup hook. A hook that fails is logged and the vehicle counts as unknown: the event then goes straight to a case,
// which a reviewer sees before confirming.
import { z } from 'zod';
import type { EnforcementEvent } from '../contracts/index.js';
import { parseConfig, readJsonFile } from '../runtime/config.js';
import { fetchWithUrlCredentials, readBody } from '../runtime/http.js';
import { redactUrl } from '../runtime/url.js';
import type { Logger } from '../runtime/log.js';
import type { Camera, CameraRegistry } from '../vision/cameras/config.js';
import type { Party } from './types.js';

/** Mainland mobile numbers, with or without +86, spaces and dashes; stored as the bare 11 digits. */
export const PhoneSchema = z
  .string()
  .transform((s) => s.replace(/[\s-]/g, '').replace(/^(\+?86)(?=1\d{10}$)/, ''))
  .pipe(z.string().regex(/^1[3-9]\d{9}$/, 'a mainland mobile number of 11 digits, such as 13800001234'));

/** A plate as the registry keys it: no spaces or separator dots, upper case (苏E·12345 → 苏E12345). */
export function normalisePlate(plate: string): string {
  return plate.replace(/[\s·•.-]/g, '').toUpperCase();
}

const ShopSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" and "-" (at most 64)'),
  name: z.string().min(1).max(100),
  /** 统一社会信用代码: 18 characters. */
  licenceNo: z
    .string()
    .regex(/^[0-9A-Z]{18}$/, 'the unified social credit code: 18 digits and capital letters')
    .optional(),
  phone: PhoneSchema.optional(),
  /** The camera zones in front of the shop (storefront zones of the camera registry). */
  zones: z.array(z.strictObject({ cameraId: z.string().min(1), zoneId: z.string().min(1) })).default([]),
});

const VehicleSchema = z.strictObject({
  plate: z.string().min(2).max(16).transform(normalisePlate),
  phone: PhoneSchema.optional(),
});

export const PartiesConfigSchema = z
  .strictObject({
    shops: z.array(ShopSchema).default([]),
    /** Plate → keeper's contact, for the demo and small deployments; looked up before the hook. */
    vehicles: z.array(VehicleSchema).default([]),
    /**
     * The city's plate service: GET {url}?plate={plate} answers 200 {"phone"?: "..."} for a known vehicle, 404 for
     * an unknown one. Anything else (or no answer within timeoutMs) is logged and the vehicle counts as unknown.
     */
    vehicleLookup: z
      .strictObject({
        url: z.url({
          protocol: /^https?$/,
          message: 'must be an http(s) URL such as https://plates.example.gov.cn/keeper',
        }),
        timeoutMs: z.number().int().min(50).max(30_000).default(3000),
        /** Answers (known and unknown) are reused this long; a failed lookup is retried after at most 30 s. */
        cacheS: z.number().int().min(0).max(86_400).default(300),
      })
      .optional(),
    /** A plate read with less confidence than this is not looked up: a misread plate would tell the wrong person. */
    minPlateConfidence: z.number().min(0).max(1).default(0.8),
  })
  .superRefine((c, ctx) => {
    const ids = new Set<string>();
    const zones = new Map<string, string>();
    c.shops.forEach((s, i) => {
      if (ids.has(s.id))
        ctx.addIssue({ code: 'custom', path: ['shops', i, 'id'], message: `shop id "${s.id}" is used twice` });
      ids.add(s.id);
      s.zones.forEach((z, j) => {
        const k = `${z.cameraId}/${z.zoneId}`;
        const other = zones.get(k);
        if (other !== undefined && other !== s.id)
          ctx.addIssue({
            code: 'custom',
            path: ['shops', i, 'zones', j],
            message: `zone ${k} is already the frontage of shop "${other}"`,
          });
        zones.set(k, s.id);
      });
    });
    const plates = new Set<string>();
    c.vehicles.forEach((v, i) => {
      if (plates.has(v.plate))
        ctx.addIssue({ code: 'custom', path: ['vehicles', i, 'plate'], message: `plate ${v.plate} is listed twice` });
      plates.add(v.plate);
    });
  });
export type PartiesConfig = z.output<typeof PartiesConfigSchema>;
export type PartiesConfigInput = z.input<typeof PartiesConfigSchema>;
export type Shop = PartiesConfig['shops'][number];

export function loadPartiesConfig(file: string): PartiesConfig {
  return parseConfig(PartiesConfigSchema, readJsonFile(file, 'parties file'), file);
}

/** Several registries in one (the file and the demo's): shops and vehicles appended, the first of an id kept. */
export function mergeParties(...configs: PartiesConfig[]): PartiesConfig {
  const out: PartiesConfig = { shops: [], vehicles: [], minPlateConfidence: configs[0]?.minPlateConfidence ?? 0.8 };
  const shopIds = new Set<string>();
  const plates = new Set<string>();
  for (const c of configs) {
    for (const s of c.shops)
      if (!shopIds.has(s.id)) {
        shopIds.add(s.id);
        out.shops.push(s);
      }
    for (const v of c.vehicles)
      if (!plates.has(v.plate)) {
        plates.add(v.plate);
        out.vehicles.push(v);
      }
    if (c.vehicleLookup && !out.vehicleLookup) out.vehicleLookup = c.vehicleLookup;
  }
  return parseConfig(PartiesConfigSchema, out, 'the merged parties registry');
}

/**
 * Demo parties for the simulated cameras: one registered shop per storefront zone, with a fake mobile number
 * 1380000xxxx (the 1380000 block is what Chinese documentation uses for examples), and no vehicles (so parking
 * events show the "no registered contact" path).
 */
export function demoParties(cameras: readonly Camera[]): PartiesConfig {
  const shops: PartiesConfigInput['shops'] = [];
  let n = 0;
  for (const c of cameras) {
    for (const z of c.zones) {
      if (z.type !== 'storefront') continue;
      n++;
      const serial = String(n).padStart(4, '0');
      shops.push({
        id: `demo-${c.id}-${z.id}`.slice(0, 64),
        name: `演示商户（${z.name}）`,
        licenceNo: `9132058200DEMO${serial}`,
        phone: `1380000${serial}`,
        zones: [{ cameraId: c.id, zoneId: z.id }],
      });
    }
  }
  return parseConfig(PartiesConfigSchema, { shops, vehicles: [] }, 'the demo parties');
}

/** 138****5678: enough for a reviewer to recognise a number, not enough to call it. */
export function maskPhone(phone: string): string {
  return phone.length >= 7 ? `${phone.slice(0, 3)}****${phone.slice(-4)}` : '****';
}

export function shopParty(s: Shop): Party {
  return {
    id: `shop:${s.id}`,
    kind: 'shop',
    name: s.name,
    ...(s.licenceNo ? { licenceNo: s.licenceNo } : {}),
    ...(s.phone ? { phone: s.phone } : {}),
  };
}

export function vehicleParty(plate: string, phone?: string): Party {
  const p = normalisePlate(plate);
  return { id: `vehicle:${p}`, kind: 'vehicle', name: p, ...(phone ? { phone } : {}) };
}

const LookupAnswerSchema = z.object({ phone: z.string().optional().nullable() });
/** The hook answers {"phone": ...}: anything longer than this is not that answer, and is not read. */
const LOOKUP_ANSWER_MAX_BYTES = 16 * 1024;

export interface PartyRegistryOptions {
  /** The camera registry, for `shopId` on storefront zones and to check the zones the shops name. */
  cameras?: CameraRegistry;
  logger: Logger;
  /** For tests. */
  fetch?: typeof fetch;
  now?: () => number;
}

export class PartyRegistry {
  private readonly byZone = new Map<string, Shop>();
  private readonly byId = new Map<string, Shop>();
  private readonly plates = new Map<string, PartiesConfig['vehicles'][number]>();
  private readonly cache = new Map<string, { party: Party | null; until: number }>();
  private readonly inflight = new Map<string, Promise<Party | null>>();
  private hookDown = false;

  constructor(
    readonly config: PartiesConfig,
    private readonly o: PartyRegistryOptions,
  ) {
    for (const s of config.shops) {
      this.byId.set(s.id, s);
      for (const z of s.zones) this.byZone.set(zoneKey(z.cameraId, z.zoneId), s);
    }
    for (const v of config.vehicles) this.plates.set(v.plate, v);
    const cams = o.cameras?.cameras ?? [];
    for (const c of cams) {
      for (const z of c.zones) {
        if (z.type !== 'storefront' || !z.shopId) continue;
        const k = zoneKey(c.id, z.id);
        const shop = this.byId.get(z.shopId);
        const listed = this.byZone.get(k);
        if (!shop && !listed) {
          o.logger.warn(
            { camera: c.id, zone: z.id, shopId: z.shopId },
            'camera zone names a shop that is not in the parties registry: its events have no contact',
          );
        } else if (!shop || (listed && listed.id !== shop.id)) {
          o.logger.warn(
            { camera: c.id, zone: z.id, shopId: z.shopId, listed: listed!.id },
            'camera zone names another shop than the parties registry: the registry wins',
          );
        } else {
          this.byZone.set(k, shop);
        }
      }
    }
    if (o.cameras) {
      for (const s of config.shops) {
        for (const z of s.zones) {
          const cam = cams.find((c) => c.id === z.cameraId);
          if (!cam?.zones.some((x) => x.id === z.zoneId)) {
            o.logger.warn(
              { shop: s.id, camera: z.cameraId, zone: z.zoneId },
              'shop names a camera zone that is not in the camera registry',
            );
          }
        }
      }
    }
  }

  static load(file: string, o: PartyRegistryOptions & { extra?: PartiesConfig[] }): PartyRegistry {
    const base = loadPartiesConfig(file);
    return new PartyRegistry(o.extra?.length ? mergeParties(base, ...o.extra) : base, o);
  }

  /** Registered shops, as parties (the parties page lists them even without violations). */
  shops(): Party[] {
    return this.config.shops.map(shopParty);
  }

  /** The shop whose frontage this camera zone is, or null. */
  shopAt(cameraId: string, zoneId: string): Party | null {
    const s = this.byZone.get(zoneKey(cameraId, zoneId));
    return s ? shopParty(s) : null;
  }

  /** The party of a confirmed event: the shop for out-of-store vending, the vehicle's keeper for parking. */
  async lookup(event: EnforcementEvent): Promise<Party | null> {
    if (event.type === 'out-of-store-vending') return this.shopAt(event.camera.id, event.zone.id);
    const plate = event.plate;
    if (!plate || !plate.text.trim()) return null;
    if (plate.confidence < this.config.minPlateConfidence) {
      this.o.logger.info(
        { event: event.id, confidence: plate.confidence, min: this.config.minPlateConfidence },
        'plate read with too little confidence to look up its keeper',
      );
      return null;
    }
    return this.vehicle(plate.text);
  }

  /** A vehicle's keeper: the static list first, then the lookup hook (cached). Never throws. */
  async vehicle(plateText: string): Promise<Party | null> {
    const plate = normalisePlate(plateText);
    const listed = this.plates.get(plate);
    if (listed) return vehicleParty(plate, listed.phone);
    const hook = this.config.vehicleLookup;
    if (!hook) return null;
    const now = (this.o.now ?? Date.now)();
    const hit = this.cache.get(plate);
    if (hit && hit.until > now) return hit.party;
    const running = this.inflight.get(plate);
    if (running) return running;
    const p = this.ask(plate, hook).finally(() => this.inflight.delete(plate));
    this.inflight.set(plate, p);
    return p;
  }

  private async ask(plate: string, hook: NonNullable<PartiesConfig['vehicleLookup']>): Promise<Party | null> {
    const url = new URL(hook.url);
    url.searchParams.set('plate', plate);
    const f = this.o.fetch ?? fetch;
    const remember = (party: Party | null, ttlMs: number) => {
      if (this.cache.size >= 5000) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(plate, { party, until: (this.o.now ?? Date.now)() + ttlMs });
      return party;
    };
    let failure: string;
    try {
      const res = await fetchWithUrlCredentials(
        url,
        { headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(hook.timeoutMs) },
        f,
      );
      if (res.status === 404) {
        await res.body?.cancel();
        this.hookUp();
        return remember(null, hook.cacheS * 1000);
      }
      if (res.status === 200) {
        const body = LookupAnswerSchema.safeParse(
          JSON.parse((await readBody(res, LOOKUP_ANSWER_MAX_BYTES)).toString('utf8')),
        );
        if (body.success) {
          this.hookUp();
          const phone = body.data.phone ? PhoneSchema.safeParse(body.data.phone) : null;
          if (phone && !phone.success)
            this.o.logger.warn(
              { plate },
              'vehicle lookup answered a phone that is not a mobile number: treated as no contact',
            );
          return remember(vehicleParty(plate, phone?.success ? phone.data : undefined), hook.cacheS * 1000);
        }
        failure = `answer is not {"phone"?: string}: ${body.error.issues[0]?.message ?? ''}`;
      } else {
        await res.body?.cancel();
        failure = `HTTP ${res.status}`;
      }
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      failure =
        err.name === 'TimeoutError'
          ? `no answer within ${hook.timeoutMs} ms`
          : `${err.message}${err.cause?.code ? `: ${err.cause.code}` : ''}`;
    }
    // Said once per outage, not per plate.
    if (!this.hookDown)
      this.o.logger.warn(
        { url: redactUrl(url), err: failure },
        'vehicle lookup failed: vehicles count as unknown (no contact) until it answers again',
      );
    else this.o.logger.debug({ plate, err: failure }, 'vehicle lookup failed');
    this.hookDown = true;
    return remember(null, Math.min(30_000, hook.cacheS * 1000));
  }

  private hookUp(): void {
    if (this.hookDown) this.o.logger.info('vehicle lookup answers again');
    this.hookDown = false;
  }
}

function zoneKey(cameraId: string, zoneId: string): string {
  return `${cameraId}\u0000${zoneId}`;
}
