// Threshold rules over a stream of readings. For every (rule, device) the engine keeps a rolling aggregate and the
// current tier, and emits a signal when a tier is reached (after its duration), escalated, de-escalated (with
// hysteresis) or cleared. Signals become alerts in alerts/.
import type { Signal, SignalType, StoredReading } from '../../contracts/index.js';
import { LocalClock } from './clock.js';
import type { Level, Rule, RulesFile } from './schema.js';
import { RollingWindow } from './window.js';

interface SeriesState {
  window: RollingWindow;
  /** Index of the active tier, -1 when normal. */
  tier: number;
  /** The tier the condition points at while its duration runs, and since when / for how many readings. */
  pending: number;
  pendingSince: number;
  pendingCount: number;
  lastTs: number;
  fresh: boolean;
}

const glob = (p: string) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`);

export class RuleEngine {
  private readonly clock: LocalClock;
  private readonly byKind = new Map<string, Rule[]>();
  private readonly groups: Map<string, { devices: RegExp[]; districts: Set<string> }>;
  private readonly state = new Map<string, SeriesState>();
  /** Which rules apply to a device: cached, since group matching uses patterns. */
  private readonly applicable = new Map<string, Rule[]>();

  constructor(private readonly file: RulesFile) {
    this.clock = new LocalClock(file.timezone, file.day);
    for (const r of file.rules) {
      const list = this.byKind.get(r.kind) ?? [];
      list.push(r);
      this.byKind.set(r.kind, list);
    }
    this.groups = new Map(
      Object.entries(file.groups).map(([name, g]) => [
        name,
        { devices: g.devices.map(glob), districts: new Set(g.districts) },
      ]),
    );
  }

  /** Group membership: a rule with a group applies to its members; a rule without one to the kind's other devices. */
  private rulesFor(r: StoredReading): Rule[] {
    const key = `${r.kind}/${r.district}/${r.deviceId}`;
    let rules = this.applicable.get(key);
    if (rules) return rules;
    const inGroup = (name: string) => {
      const g = this.groups.get(name)!;
      return g.devices.some((re) => re.test(r.deviceId)) || g.districts.has(r.district);
    };
    const all = this.byKind.get(r.kind) ?? [];
    // A device in a group gets that group's rules for a metric instead of the ungrouped defaults for it.
    const grouped = all.filter((x) => x.group && inGroup(x.group));
    const covered = new Set(grouped.map((x) => x.metric + '|' + x.period + '|' + (x.when?.metric ?? '')));
    rules = [
      ...grouped,
      ...all.filter((x) => !x.group && !covered.has(x.metric + '|' + x.period + '|' + (x.when?.metric ?? ''))),
    ];
    this.applicable.set(key, rules);
    return rules;
  }

  private level(l: Level, ts: number): number {
    return typeof l === 'number' ? l : this.clock.isDay(ts) ? l.day : l.night;
  }

  /** Feeds one reading; returns the signals it caused (usually none). */
  process(r: StoredReading, out: Signal[] = []): Signal[] {
    for (const rule of this.rulesFor(r)) {
      const v = r.metrics[rule.metric];
      if (v === undefined) continue;
      const key = `${rule.id}|${r.deviceId}`;
      let s = this.state.get(key);
      if (!s) {
        s = {
          window: new RollingWindow(rule.aggregate.fn, rule.aggregate.windowS * 1000),
          tier: -1,
          pending: -1,
          pendingSince: 0,
          pendingCount: 0,
          lastTs: -Infinity,
          fresh: true,
        };
        this.state.set(key, s);
      }
      // Readings come at least once and in order per device; an older or repeated one was seen already.
      if (r.ts <= s.lastTs) continue;
      s.lastTs = r.ts;
      const agg = s.window.push(r.ts, v);
      const active = this.inPeriod(rule, r.ts) && this.guard(rule, r);
      this.step(rule, r, s, active ? agg : null, out);
      if (s.fresh) {
        s.fresh = false;
        if (s.tier < 0 && s.pending < 0) out.push({ ...this.signal('clear', rule, r, 0, agg), initial: true });
      }
    }
    return out;
  }

  private inPeriod(rule: Rule, ts: number): boolean {
    return rule.period === 'always' || (rule.period === 'day') === this.clock.isDay(ts);
  }

  private guard(rule: Rule, r: StoredReading): boolean {
    const w = rule.when;
    if (!w) return true;
    const g = r.metrics[w.metric];
    if (g === undefined) return false;
    return (w.above === undefined || g > w.above) && (w.below === undefined || g < w.below);
  }

  /** Moves the series between tiers. `agg` null means the rule does not apply now (outside its period or guard). */
  private step(rule: Rule, r: StoredReading, s: SeriesState, agg: number | null, out: Signal[]): void {
    const past = (x: number, l: number) => (rule.direction === 'above' ? x > l : x < l);
    // The tier the value reaches now, ignoring hysteresis...
    let reached = -1;
    if (agg !== null)
      for (let i = 0; i < rule.tiers.length; i++) if (past(agg, this.level(rule.tiers[i]!.level, r.ts))) reached = i;
    // ...and the tier it holds, with hysteresis: an active tier stays until the value is back past its clear level.
    let held = reached;
    if (agg !== null) {
      for (let i = s.tier; i > reached; i--) {
        const t = rule.tiers[i]!;
        if (past(agg, this.level(t.clear ?? t.level, r.ts))) {
          held = i;
          break;
        }
      }
    }
    const target = Math.max(held, -1);
    if (target > s.tier) {
      // Rising: the condition must hold forS seconds and forSamples readings.
      if (s.pending !== target) {
        // Keep the start time when moving between pending tiers: the condition has held since then.
        if (s.pending < 0 || s.pending <= s.tier) {
          s.pendingSince = r.ts;
          s.pendingCount = 0;
        }
        s.pending = target;
      }
      s.pendingCount++;
      if (r.ts - s.pendingSince >= rule.forS * 1000 && s.pendingCount >= rule.forSamples) {
        const type: SignalType = s.tier < 0 ? 'fire' : 'escalate';
        s.tier = target;
        s.pending = -1;
        out.push(this.signal(type, rule, r, target, agg!));
      }
      return;
    }
    s.pending = -1;
    s.pendingCount = 0;
    if (target < s.tier) {
      const was = s.tier;
      s.tier = target;
      if (target < 0) out.push(this.signal('clear', rule, r, was, agg ?? NaN));
      else out.push(this.signal('deescalate', rule, r, target, agg!));
    }
  }

  private signal(type: SignalType, rule: Rule, r: StoredReading, tier: number, value: number): Signal {
    const t = rule.tiers[tier]!;
    return {
      type,
      ruleId: rule.id,
      category: 'threshold',
      name: rule.name,
      deviceId: r.deviceId,
      district: r.district,
      kind: r.kind,
      metric: rule.metric,
      severity: t.severity,
      tierLabel: t.label,
      value: Number.isNaN(value) ? value : Math.round(value * 100) / 100,
      level: this.level(t.level, r.ts),
      ts: r.ts,
      standard: rule.standard,
      caseWorthy: rule.caseWorthy,
      caseCode: rule.caseCode,
    };
  }

  /** Metrics that some threshold rule watches for this device (the anomaly detector takes the others). */
  coveredMetrics(r: StoredReading): Set<string> {
    return new Set(this.rulesFor(r).map((x) => x.metric));
  }

  /** Series tracked, for metrics and the memory benchmark. */
  get series(): number {
    return this.state.size;
  }
}
