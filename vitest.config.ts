import { defineConfig } from 'vitest/config';

// Tests that need a real service (Mosquitto, InfluxDB, Kafka, Chromium, S3, RTSP, the checkers of deploy/) or run the
// whole platform as a process: the `e2e` project, with the services started by test/global-setup.ts. Every other
// test is `unit` (`npm run test:unit`, no services). A new service test is named `*.e2e.test.ts` or listed here; one
// that is not fails in the unit project, which runs with the services' addresses removed (test/unit-setup.ts).
const E2E = [
  '**/*.e2e.test.ts',
  'test/**/*.test.ts', // the platform end to end, and the console in Chromium
  'bus/kafka.test.ts', // Kafka
  'bus/kafka-lag.test.ts',
  'bus/kafka-security.test.ts',
  'cameras/production.test.ts',
  'store/influxdb/store.test.ts', // InfluxDB
  'edge/agent.test.ts', // Mosquitto with the shipped ACL (test/mosquitto-acl.ts)
  'edge/drivers/camera/link.test.ts',
  'edge/drivers/camera/rtsp.test.ts', // ffmpeg and mediamtx
  'ingest/nbiot/routes.test.ts',
  'notices/notifiers/loudspeaker-acl.test.ts',
  'simulators/nbiot/platform.test.ts',
  'vision/relay.test.ts',
  'vision/evidence/s3.test.ts', // the S3-compatible server
  'reports/reports.test.ts', // Chromium prints, poppler reads back
  'deploy/**/*.test.ts', // promtool, kubeconform, the production wiring on Kafka and InfluxDB
  'operations/backup/backup.test.ts', // the platform as a process
  'operations/backup/external.test.ts', // InfluxDB and Kafka
  'operations/retention/retention.test.ts', // InfluxDB
  'ingest/dead-letters.test.ts', // Mosquitto (found by the unit project's loud failure: test/helpers.ts's mqttUrl())
  'vision/eval/eval.test.ts', // no service, but the vision pipeline end to end on simulated streets: two minutes
  'vision/recheck.test.ts', // the vision worker end to end on live simulated streets (about 20 s)
  'vision/model/coco/parity.test.ts', // the original TF.js graphs on pure-JS TensorFlow beside ours (about 30 s)
  'analytics/simulated-run.test.ts', // two weeks of the demo fleet through the detectors and the alert manager
  'edge/drivers/camera/snapshot.test.ts', // Debian's lighttpd as the camera's web server (LIGHTTPD)
];
const EXCLUDE = ['node_modules/**', 'data/**', '.tmp/**', 'dist/**'];

export default defineConfig({
  test: {
    exclude: EXCLUDE,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: [...EXCLUDE, ...E2E],
          setupFiles: ['test/unit-setup.ts'],
          // No shared service to queue for: files run side by side, and the unit group runs before the e2e group
          // (groupOrder), so an e2e test never shares the cores with them.
          fileParallelism: true,
          // vitest's default is one worker less than the cores: one, on the two-core machines this runs on.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: E2E,
          globalSetup: ['test/global-setup.ts'],
          // The end-to-end tests share one real Mosquitto and two cores: files run one after another.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
