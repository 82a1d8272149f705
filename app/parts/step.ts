// What a part of the platform is to app/platform.ts: a named step that runs in some ROLEs, starts its services and
// returns what it serves (the handles later steps need, its HTTP routes) and how it stops. The roles are data here,
// so app/README.md's role table is checked against them (app/platform.test.ts) instead of against a reading of
// `if` branches.
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../../runtime/log.js';
import type { AppConfig } from '../config.js';

export type Role = AppConfig['ROLE'];
/** Every role: the parts each process runs whatever its role. */
export const EVERY_ROLE = ['all', 'ingest', 'detectors', 'api', 'vision'] as const satisfies readonly Role[];

/** A routes plugin registered on the HTTP API, in the order the steps return them. */
export type RoutePlugin = (app: FastifyInstance) => Promise<void>;

/** What every step is given besides the handles of the steps before it. */
export interface StepContext {
  cfg: AppConfig;
  log: Logger;
  registry: Registry;
}

/** How a step stops: what it started, registered as it starts, stopped in reverse order. */
export interface StopList {
  add(stop: () => Promise<void>): void;
}

export interface Step<In, Out> {
  /** The part's name, as in the first column of app/README.md's role table. */
  name: string;
  roles: readonly Role[];
  /** Stopped before every other step (in start order), instead of in reverse order with them. */
  stopsFirst?: boolean;
  start(input: In & StepContext, stops: StopList): Promise<Out & { routes?: RoutePlugin[] }>;
}

/** A step of every role: its handles are never null. */
export type EveryRoleStep<In, Out> = Step<In, Out> & { roles: typeof EVERY_ROLE };

export interface Started<Out> {
  serves: Out;
  stop(): Promise<void>;
}

/** Stops in reverse order of start; a stop that fails is logged and the others still run. */
function stopList(log: Logger): StopList & { stop(): Promise<void> } {
  const list: (() => Promise<void>)[] = [];
  return {
    add: (s) => void list.push(s),
    stop: async () => {
      for (const s of list.splice(0).reverse())
        await s().catch((e: Error) => log.error({ err: e.message }, 'error while stopping'));
    },
  };
}

/** Starts one step: what it serves and how it stops; a step that fails half-way stops what it had started. */
export async function startStep<In, Out>(
  step: Step<In, Out>,
  input: In & StepContext,
): Promise<Started<Out & { routes?: RoutePlugin[] }>> {
  const stops = stopList(input.log);
  try {
    return { serves: await step.start(input, stops), stop: stops.stop };
  } catch (e) {
    await stops.stop();
    throw e;
  }
}

/**
 * Runs steps in order for one process: a step whose roles leave out cfg.ROLE is skipped (its handles are null),
 * routes are collected in order, and stop() stops the steps marked stopsFirst, then the others in reverse order.
 */
export class StepRunner {
  readonly routes: RoutePlugin[] = [];
  private readonly first: Started<unknown>[] = [];
  private readonly rest: Started<unknown>[] = [];

  constructor(
    private readonly ctx: StepContext,
    /** Every step this process may run: one not listed is a mistake (the role table would not show it). */
    private readonly known: readonly Step<never, unknown>[],
  ) {}

  runs(step: Step<never, unknown>): boolean {
    return step.roles.includes(this.ctx.cfg.ROLE);
  }

  /**
   * Starts the step when this process's role runs it. Its input is read only then: a handle of an earlier step of
   * the same roles is there, which is why platform.ts may assert it (`a!.alerts`).
   */
  async run<In, Out>(step: EveryRoleStep<In, Out>, input: () => In): Promise<Out>;
  async run<In, Out>(step: Step<In, Out>, input: () => In): Promise<Out | null>;
  async run<In, Out>(step: Step<In, Out>, input: () => In): Promise<Out | null> {
    if (!this.known.includes(step as Step<never, unknown>))
      throw new Error(`step ${step.name} is not in the platform's list of parts`);
    if (!this.runs(step as Step<never, unknown>)) return null;
    const s = await startStep(step, { ...input(), ...this.ctx });
    (step.stopsFirst ? this.first : this.rest).push(s);
    if (s.serves.routes) this.routes.push(...s.serves.routes);
    return s.serves;
  }

  stop = async (): Promise<void> => {
    for (const s of [...this.first.splice(0), ...this.rest.splice(0).reverse()]) await s.stop();
  };
}
