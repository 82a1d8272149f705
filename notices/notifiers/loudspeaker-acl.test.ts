// The loudspeaker adapter on Mosquitto as deploy/mosquitto ships it (test/mosquitto-acl.ts): with the notices account
// the camera's edge agent gets the command; with an account the ACL does not let publish commands the attempt fails
// with a reason that names the account and the topic, instead of counting as sent while the broker dropped it (an
// MQTT 3.1.1 PUBACK does not tell a refused PUBLISH from a delivered one).
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../runtime/log.js';
import { sleep, uniq, waitFor } from '../../test/helpers.js';
import { startAclBroker, type AclBroker } from '../../test/mosquitto-acl.js';
import type { Notice } from '../types.js';
import { LoudspeakerMqttNotifier } from './loudspeaker-mqtt.js';

let broker: AclBroker;
const camera = uniq('cam-acl');
beforeAll(async () => {
  broker = await startAclBroker([camera]);
});
afterAll(async () => {
  await broker?.close();
});

describe('loudspeaker commands under the shipped ACL', () => {
  it('reach the camera with the notices account, and fail with the reason under an account that may not send them', async () => {
    const heard: string[] = [];
    const edge = await mqtt.connectAsync(broker.url, {
      clientId: uniq('edge'),
      protocolVersion: 5,
      ...broker.login(camera),
    });
    edge.on('message', (_t, p) => heard.push((JSON.parse(p.toString()) as { id: string }).id));
    const topic = `city/v1/xinhua/camera/${camera}/commands`;
    await edge.subscribeAsync(topic, { qos: 1 });
    const notice = (eventId: string) => ({ eventId, cameraId: camera, district: 'xinhua' }) as Notice;
    const notifier = (user: string) =>
      new LoudspeakerMqttNotifier({
        url: broker.url,
        ...broker.login(user),
        clientId: uniq(user),
        repeat: 1,
        timeoutMs: 5000,
        logger: silentLogger,
      });

    const wrong = notifier('ingest');
    const right = notifier('notices');
    try {
      const refused = await wrong.send(notice('evt-wrong'), '请将物品收回店内');
      expect(refused).toEqual({
        ok: false,
        to: camera,
        error: `the broker refused the command: account ingest may not publish on ${topic}`,
      });
      const sent = await right.send(notice('evt-right'), '请将物品收回店内');
      expect(sent).toEqual({ ok: true, to: camera });
      expect(await waitFor(() => heard.includes('evt-right:loudspeaker'), 5000, 20)).toBe(true);
      await sleep(200);
      expect(heard).toEqual(['evt-right:loudspeaker']);
    } finally {
      await wrong.close();
      await right.close();
      await edge.endAsync(true);
    }
  });
});
