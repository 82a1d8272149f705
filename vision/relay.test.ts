// The frame relay's own failures name the broker without the credentials an MQTT_URL may carry.
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../bus/memory.js';
import { ConfigError } from '../runtime/config.js';
import { silentLogger } from '../runtime/log.js';
import { FrameRelay } from './relay.js';

describe('FrameRelay', () => {
  it('says which broker it cannot reach without repeating the password in MQTT_URL', async () => {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    const relay = new FrameRelay({
      mqttUrl: 'mqtt://frames:s3cret-pw@127.0.0.1:1',
      clientId: 'relay-test',
      bus: new MemoryBus({ logger: silentLogger }),
      deadLetters: { add: async () => undefined, list: async () => ({ items: [], total: 0 }) },
      logger: silentLogger,
    });
    const err = await relay.start().then(
      () => null,
      (e: Error) => e,
    );
    await relay.stop();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message).toMatch(/^cannot connect to the MQTT broker at mqtt:\/\/127\.0\.0\.1:1 \(MQTT_URL\)/);
    expect(err!.message).not.toContain('s3cret');
  });
});
