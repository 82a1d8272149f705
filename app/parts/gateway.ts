// The embedded default's field gateway (ROLE=all): an edge agent running the simulated sensor fleet and the HJ 212
// server monitors connect to.
import path from 'node:path';
import { Hj212ConfigSchema } from '../../edge/drivers/hj212/config.js';
import { EdgeAgent } from '../../edge/agent.js';
import { ConfigError, parseConfig, readJsonFile } from '../../runtime/config.js';
import type { SimulatedDevice } from '../../simulators/fleet.js';
import { GATEWAY_ID } from './ingest.js';
import type { Step } from './step.js';

export const gateway: Step<
  { mqttUrl: string | null; mqttPasswords: Map<string, string> | null; fleet: SimulatedDevice[] },
  { hj212Port: number | null }
> = {
  name: 'field gateway',
  roles: ['all'],
  async start({ cfg, log, mqttUrl, mqttPasswords, fleet }, stops) {
    if (!mqttUrl || !(cfg.SIMULATE || cfg.HJ212_PORT !== 'off')) return { hj212Port: null };
    const hj212 =
      cfg.HJ212_PORT === 'off'
        ? undefined
        : parseConfig(
            Hj212ConfigSchema,
            {
              ...(cfg.HJ212_CONFIG
                ? (readJsonFile(cfg.HJ212_CONFIG, 'HJ212_CONFIG file') as Record<string, unknown>)
                : {}),
              port: cfg.HJ212_PORT,
              host: cfg.HOST,
              ...(cfg.HJ212_ACCEPT_UNKNOWN ? { acceptUnknown: true } : {}),
            },
            cfg.HJ212_CONFIG ?? 'HJ212_PORT',
          );
    if (hj212?.acceptUnknown) {
      log.warn(
        { port: hj212.port },
        'HJ 212 COMMISSIONING MODE (HJ212_ACCEPT_UNKNOWN=1): monitors not in the device map are stored as hj212-<MN>; turn it off once they are mapped',
      );
    }
    const agent = new EdgeAgent(
      {
        gatewayId: GATEWAY_ID,
        mqtt: { url: mqttUrl, keepaliveS: 30, reconnectMinMs: 500, reconnectMaxMs: 30_000, settleMs: 1000 },
        buffer: {
          dir: path.join(cfg.dataDir, 'edge'),
          maxBytes: 64 * 1024 * 1024,
          segmentBytes: 1024 * 1024,
          fsyncMs: 1000,
        },
        publish: { inflight: 100, maxBatch: 100 },
        cameras: [],
        gatewayCredentials: mqttPasswords ? { username: GATEWAY_ID, password: mqttPasswords.get(GATEWAY_ID) } : {},
        hj212,
        devices: fleet.map((d) => (mqttPasswords ? { ...d, username: d.id, password: mqttPasswords.get(d.id) } : d)),
      },
      log.child({ part: 'gateway' }),
    );
    await agent.start().catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'EADDRINUSE'
        ? new ConfigError(
            `port ${cfg.HJ212_PORT} is in use: stop the other server or set HJ212_PORT (or HJ212_PORT=off)`,
          )
        : e;
    });
    stops.add(() => agent.stop());
    return { hj212Port: agent.hj212Port };
  },
};
