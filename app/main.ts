// `npm start`: the whole platform in one process.
import { runMain, untilSignal } from '../runtime/config.js';
import { createLogger } from '../runtime/log.js';
import { loadAppConfig } from './config.js';
import { leanIngest } from './ingest-role.js';

runMain('city-sensing', async () => {
  const cfg = loadAppConfig();
  const log = createLogger('city');
  // Start-up problems that are the operator's to fix (a busy port, an unreachable broker or store) arrive as
  // ConfigErrors from where they happen; anything else is a bug and keeps its stack.
  // A production ingest process loads ingest's code only (app/ingest-role.ts); everything else, the whole platform.
  const p = leanIngest(cfg)
    ? await (await import('./ingest-role.js')).startIngestRole(cfg, log)
    : await (await import('./platform.js')).startPlatform(cfg, log);
  const host = cfg.HOST === '0.0.0.0' ? '127.0.0.1' : cfg.HOST;
  const api = `${cfg.https ? 'https' : 'http'}://${host}:${cfg.PORT}`;
  const lines = [
    '',
    `City sensing platform is running (ROLE=${cfg.ROLE})  城市感知平台已启动`,
    p.mqttUrl ? `  MQTT broker       ${p.mqttUrl}${cfg.MQTT_URL ? '' : ' (embedded)'}` : '',
    p.mqttTlsPort ? `  MQTT over TLS     mqtts://${host}:${p.mqttTlsPort}` : '',
    `  store / bus       ${p.store.name} / ${p.bus.name}`,
    `  console 控制台     ${api}/   (sign in as admin; ADMIN_PASSWORD sets the password)`,
    `  API               ${api}`,
    `  readings          ${api}/api/readings?device=nz-xinhua-001`,
    `  alerts            ${api}/api/alerts?state=open`,
    p.events ? `  review queue      ${api}/api/events?status=pending  (enforcement events with evidence)` : '',
    `  dead letters      ${api}/api/dead-letters`,
    p.hj212Port
      ? `  HJ 212 monitors   tcp://${host}:${p.hj212Port}${cfg.HJ212_ACCEPT_UNKNOWN ? '  (COMMISSIONING MODE: unknown monitors are accepted)' : ''}`
      : '',
    `  health / metrics  ${api}/readyz  ${api}/metrics`,
    p.store.name === 'duckdb' ? `  data              ${cfg.dataDir}` : '',
    cfg.ROLE !== 'all'
      ? ''
      : cfg.SIMULATE
        ? `  simulated sensors and ${cfg.SIM_CAMERAS} street cameras are running (SIMULATE=0 turns them off)`
        : '  simulation off',
    p.mqttUrl && !cfg.MQTT_URL
      ? cfg.MQTT_AUTH
        ? `  a device of your own: npx tsx broker/credentials-main.ts add-device my-meter --district xinhua --kind noise  (prints its MQTT password; see README)`
        : `  try: mosquitto_pub -h 127.0.0.1 -p ${cfg.MQTT_PORT} -q 1 -t city/v1/xinhua/noise/my-meter/readings -m '{"ts":${Date.now()},"metrics":{"laeq_db":58.2}}'`
      : '',
    'Press Ctrl-C to stop.',
    '',
  ].filter((l, i, a) => l !== '' || i === 0 || i === a.length - 1);
  process.stdout.write(lines.join('\n') + '\n');
  const sig = await untilSignal();
  log.info({ signal: sig }, 'stopping: flushing buffered readings');
  await p.stop();
  log.info('stopped');
});
