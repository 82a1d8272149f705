// The embedded MQTT broker of the one-process default (aedes, MQTT 3.1.1). Production uses Mosquitto instead;
// see docker-compose.yml and scripts/services.d/mosquitto. With `auth` every client needs credentials of the
// registry and may use only its own topics (auth.ts); without it the broker is open (tests, benchmarks).
import net from 'node:net';
import tls from 'node:tls';
import { Aedes } from 'aedes';
import { ConfigError } from '../runtime/config.js';
import type { Logger } from '../runtime/log.js';
import type { ServerTls } from '../runtime/tls.js';
import { installBrokerAuth, type BrokerAuthOptions, type DeviceRegistry } from './auth.js';

export interface EmbeddedBroker {
  url: string;
  port: number;
  /** The MQTT over TLS listener's port, when it runs. */
  tlsPort: number | null;
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
  /**
   * A second listener, MQTT over TLS (devices across the city's network): same broker, same accounts and topics as
   * the plain one, which stays for the platform's own loopback clients.
   */
  tls?: ServerTls & { port: number };
}

function listen(server: net.Server, port: number, host: string, inUse: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new ConfigError(inUse) : e));
    server.listen(port, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}

const closeServer = (server: net.Server) => new Promise<void>((r) => server.close(() => r()));

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const aedes = await Aedes.createBroker({ id: 'city-embedded' });
  if (opts.auth) installBrokerAuth(aedes, opts.auth, opts.logger, opts.authOptions);
  aedes.on('clientError', (client, err) =>
    opts.logger.debug({ client: client.id, err: err.message }, 'mqtt client error'),
  );
  aedes.on('connectionError', (_client, err) => opts.logger.debug({ err: err.message }, 'mqtt connection error'));
  const server = net.createServer(aedes.handle);
  const port = await listen(
    server,
    opts.port,
    opts.host,
    `port ${opts.port} is in use: stop the other broker, set MQTT_PORT, or set MQTT_URL to use it`,
  );
  let tlsServer: tls.Server | null = null;
  let tlsPort: number | null = null;
  if (opts.tls) {
    tlsServer = tls.createServer({ cert: opts.tls.cert, key: opts.tls.key }, aedes.handle);
    // A failed handshake (a client that does not trust our certificate, a port scan) is the client's problem.
    tlsServer.on('tlsClientError', (err) => opts.logger.debug({ err: err.message }, 'mqtt tls handshake failed'));
    try {
      tlsPort = await listen(
        tlsServer,
        opts.tls.port,
        opts.host,
        `port ${opts.tls.port} is in use: stop the other broker or set MQTT_TLS_PORT`,
      );
    } catch (e) {
      await closeServer(server);
      await new Promise<void>((r) => aedes.close(() => r()));
      throw e;
    }
  }
  const unwatch =
    opts.auth && opts.authFile
      ? opts.auth.watch(opts.authFile, opts.logger.child({ part: 'mqtt-auth' }))
      : () => undefined;
  opts.logger.info(
    { port, tlsPort, host: opts.host, auth: opts.auth ? `${opts.auth.size} accounts` : 'open' },
    'embedded MQTT broker listening',
  );
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    tlsPort,
    async close() {
      unwatch();
      await new Promise<void>((r) => aedes.close(() => r()));
      await closeServer(server);
      if (tlsServer) await closeServer(tlsServer);
    },
  };
}
