// One act, one case, through the real vision worker (shipped simulator-trained model) on a live simulated street,
// then the review queue and the case store: a parked car that the tracker loses and picks up again under a new track
// raises one event; where the worker is told not to merge (no continuation, no cooldown) the two events come out
// linked, and confirming both files exactly one case. Frames are asked of the scene by capture time: no wall clock.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../bus/memory.js';
import { CaseService } from '../cases/service.js';
import type { DeadLetter, EnforcementEvent } from '../contracts/index.js';
import { ReviewService } from '../review/decisions.js';
import { EventStore } from '../review/store.js';
import { silentLogger } from '../runtime/log.js';
import { createLiveScene } from '../simulators/camera/live.js';
import { ROOT, tmpDir, waitFor } from '../test/helpers.js';
import { loadModelsConfig } from './detectors/index.js';
import { EvidenceStore } from './evidence/store.js';
import type { ZoneRulesOptionsInput } from './rules/zone-rules.js';
import { VisionWorker } from './worker.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  cleanup = [];
});

const S = 1000;
const T0 = Date.parse('2026-12-07T10:00:00+08:00');

/**
 * A car parks at T0 and is gone (hidden: the scene takes it out) from T0 + 7 s; the same car stands at the same
 * spot again from T0 + 10 s to T0 + 20 s. Dwell 4 s, the event 1 s after. Returns the events as the review queue
 * holds them (completed in place) and the case of each after a reviewer confirmed them all, oldest first.
 */
async function run(rules: ZoneRulesOptionsInput) {
  const dir = tmpDir('one-act');
  const scene = createLiveScene(10_014, { dwellS: 4, fps: 1, startTs: T0 - 5 * S, publishedAt: '2020-01-01' });
  const zoneId = scene.noParkingZones[0]!;
  const first = scene.parkVehicle({ zoneId, kind: 'sedan', at: T0, place: 0.5 });
  scene.remove(first, T0 + 7 * S);
  const again = scene.parkVehicle({ zoneId, kind: 'sedan', at: T0 + 10 * S, place: 0.5 });
  scene.remove(again, T0 + 20 * S);

  const bus = new MemoryBus({ logger: silentLogger });
  const dead: DeadLetter[] = [];
  const events = await EventStore.open(path.join(dir, 'events.duckdb'));
  const cases = await CaseService.open({
    config: {
      file: path.join(dir, 'cases.duckdb'),
      codesFile: path.join(ROOT, 'config/case-codes.json'),
      retryBaseMs: 10,
      retryMaxMs: 50,
    },
    logger: silentLogger,
  });
  cleanup.push(
    () => events.close(),
    () => cases.close(),
    () => bus.close(),
  );
  await bus.subscribe(
    'events',
    'review',
    async (b) => void (await events.add(b.map((m) => JSON.parse(m.value.toString()) as EnforcementEvent))),
  );
  const worker = await VisionWorker.open({
    cameras: scene.registry,
    models: loadModelsConfig(path.join(ROOT, 'config/models.json')),
    evidence: new EvidenceStore(path.join(dir, 'evidence')),
    bus,
    deadLetters: { add: async (d) => void dead.push(...d), list: async () => ({ items: dead, total: dead.length }) },
    logger: silentLogger,
    plates: null,
    rechecks: false,
    rules: { confirmS: 1, ...rules },
    // The car is forgotten 2 s after it was last seen: its reappearance is a new track.
    tracker: { maxLostMs: 2000 },
  });
  cleanup.push(() => worker.close());
  // The stay of a track gone without being seen leaving ends continueGapS (30 s) after its last sighting: one more
  // frame after that completes the event.
  const times = [...Array.from({ length: 29 }, (_, i) => T0 + (i - 2) * S), T0 + 52 * S];
  for (const ts of times) {
    const f = await scene.frameAt(ts);
    const r = await worker.process({
      district: scene.camera.district,
      cameraId: scene.camera.id,
      ts,
      seq: ts,
      jpeg: f.jpeg,
    });
    expect(r.ok).toBe(true);
  }
  // The review queue's intake has taken every event (and completion) off the bus.
  expect(await waitFor(() => bus.lag('events', 'review') === 0, 10_000)).toBe(true);
  const stored = (await events.list({ limit: 100 })).items.map((s) => s.event);
  const review = new ReviewService({ events, cases, logger: silentLogger });
  const caseIds: (string | undefined)[] = [];
  for (const e of stored)
    caseIds.push(
      (await review.review(e.id, { decision: 'confirm' }, { username: 'zhang.wei', role: 'reviewer' })).caseId,
    );
  const filed = (await cases.list({ limit: 100 })).total;
  return { stored, caseIds, filed, dead };
}

describe('one act, one case through the vision worker', () => {
  it('a car re-acquired under a new track raises one event, completed when it leaves, and one case', async () => {
    const r = await run({});
    expect(r.dead).toEqual([]);
    expect(r.stored).toHaveLength(1);
    expect(r.stored[0]!.start).toBeLessThanOrEqual(T0 + 2 * S);
    expect(r.stored[0]!.end).toBeGreaterThanOrEqual(T0 + 18 * S);
    expect(r.filed).toBe(1);
  }, 60_000);

  it('the same car told apart by the rules (no continuation, no cooldown): two linked events, still one case', async () => {
    const r = await run({ continueGapS: 0, cooldownS: 0 });
    expect(r.stored).toHaveLength(2);
    const [a, b] = r.stored as [EnforcementEvent, EnforcementEvent];
    expect(b.possibleDuplicateOf).toBe(a.id);
    expect(r.caseIds[0]).toBeDefined();
    expect(r.caseIds[1]).toBe(r.caseIds[0]);
    expect(r.filed).toBe(1);
  }, 60_000);
});
