// The embedded MQTT broker of the one-process default (aedes, MQTT 3.1.1). Production uses Mosquitto instead;
// see docker-compose.yml and scripts/services.d/mosquitto. With `auth` every client needs credentials of the
// registry and may use only its own topics (auth.ts); without it the broker is open (tests, benchmarks).
import net from 'node:net';
import { Aedes } from 'aedes';
import { ConfigError } from '../runtime/config.js';
import type { Logger } from '../runtime/log.js';
import { installBrokerAuth, type BrokerAuthOptions, type DeviceRegistry } from './auth.js';

export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  port: number;
  host: string;
  logger: Logger;
  /** The MQTT accounts (DeviceRegistry.fromFile, or provisionMqttCredentials); absent: anyone may do anything. */
  auth?: DeviceRegistry;
  /** The file `auth` came from: changes to it (broker/credentials-main.ts) apply while the broker runs. */
  authFile?: string;
  authOptions?: BrokerAuthOptions;
}

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const aedes = await Aedes.createBroker({ id: 'city-embedded' });
  if (opts.auth) installBrokerAuth(aedes, opts.auth, opts.logger, opts.authOptions);
  aedes.on('clientError', (client, err) => opts.logger.debug({ client: client.id, err: err.message }, 'mqtt client error'));
  aedes.on('connectionError', (_client, err) => opts.logger.debug({ err: err.message }, 'mqtt connection error'));
  const server = net.createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new ConfigError(`port ${opts.port} is in use: stop the other broker, set MQTT_PORT, or set MQTT_URL to use it`)
          : e,
      ),
    );
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const unwatch = opts.auth && opts.authFile ? opts.auth.watch(opts.authFile, opts.logger.child({ part: 'mqtt-auth' })) : () => undefined;
  opts.logger.info({ port, host: opts.host, auth: opts.auth ? `${opts.auth.size} accounts` : 'open' }, 'embedded MQTT broker listening');
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async close() {
      unwatch();
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
