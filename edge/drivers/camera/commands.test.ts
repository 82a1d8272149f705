// Loudspeaker commands at the edge, without a broker: a "play" command runs the speaker program (here a small node
// script that appends its last argument to a file) with the text as its last argument, repeat times, once per id;
// a command without a speaker is logged; bad, late and slow ones are refused, skipped or stopped.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { cameraCommandsTopic, type CameraCommandInput } from '../../../contracts/index.js';
import { CommandPlayer } from './commands.js';
import { SpeakerSchema } from './config.js';

const TOPIC = cameraCommandsTopic({ district: 'xinhua', cameraId: 'cam-1' });

function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

/** A speaker that writes what it would say to `file`, one line per playback (no shell: node itself). */
function fileSpeaker(file: string, timeoutMs = 10_000) {
  return SpeakerSchema.parse({
    command: [process.execPath, '-e', `require('fs').appendFileSync(${JSON.stringify(file)}, process.argv[1] + '\\n')`],
    timeoutMs,
  });
}

const play = (o: Partial<CameraCommandInput> = {}) =>
  Buffer.from(JSON.stringify({ type: 'play', id: 'n-1', text: '请将摊位收回店内', issuedAt: Date.now(), ...o }));

describe('CommandPlayer', () => {
  it('plays a command on the speaker, repeat times, once per id, with the text as the last argument', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'city-speaker-')), 'said.txt');
    const { log } = captureLogger();
    const p = new CommandPlayer({ cameraId: 'cam-1', topic: TOPIC, speaker: fileSpeaker(file), log });
    p.receive(play({ id: 'n-1', text: '文化路390号：请将摊位收回店内 "quoted" $HOME;', repeat: 2 }));
    p.receive(play({ id: 'n-1', text: 'again' }));
    p.receive(play({ id: 'n-2', text: '第二条' }));
    await p.idle();
    // No shell: quotes, $ and ; reach the program as they are.
    expect(fs.readFileSync(file, 'utf8').split('\n')).toEqual([
      '文化路390号：请将摊位收回店内 "quoted" $HOME;',
      '文化路390号：请将摊位收回店内 "quoted" $HOME;',
      '第二条',
      '',
    ]);
    expect(p.stats).toMatchObject({ played: 2, duplicates: 1, failed: 0, rejected: 0 });
  });

  it('logs the text when the camera has no speaker', async () => {
    const { log, lines } = captureLogger();
    const p = new CommandPlayer({ cameraId: 'cam-1', topic: TOPIC, log });
    p.receive(play({ id: 'n-3', text: '请勿在此停车' }));
    await p.idle();
    expect(lines).toContainEqual(
      expect.objectContaining({
        camera: 'cam-1',
        command: 'n-3',
        text: '请勿在此停车',
        repeat: 1,
        msg: expect.stringMatching(/no speaker/),
      }),
    );
    expect(p.stats.played).toBe(1);
  });

  it('refuses bad commands into the dead-letter sink, skips late ones, and stops a speaker that hangs', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'city-speaker-')), 'said.txt');
    const { log, lines } = captureLogger();
    const dead: { source: string; reason: string; raw: Buffer }[] = [];
    const p = new CommandPlayer({
      cameraId: 'cam-1',
      topic: TOPIC,
      speaker: fileSpeaker(file),
      log,
      deadLetters: { deadLetter: (d) => dead.push(d) },
    });
    p.receive(Buffer.from('say something'));
    p.receive(play({ id: 'n-4', repeat: 9 }));
    p.receive(Buffer.from(JSON.stringify({ type: 'reboot', id: 'x', issuedAt: Date.now() })));
    p.receive(play({ id: 'n-5', text: '   ' }));
    p.receive(play({ id: 'n-6', issuedAt: Date.now() - 3_600_000 }));
    p.receive(play({ id: 'n-7', text: 'on time' }));
    await p.idle();
    expect(dead.map((d) => d.source)).toEqual([TOPIC, TOPIC, TOPIC, TOPIC]);
    expect(dead[0]!.reason).toMatch(/not JSON/);
    expect(dead[1]!.reason).toMatch(/repeat/);
    expect(dead[2]!.reason).toMatch(/type/);
    expect(dead[3]!.reason).toMatch(/text/);
    expect(dead[0]!.raw.toString()).toBe('say something');
    expect(lines.filter((l) => l.msg === 'camera command refused (dead letter)')).toHaveLength(4);
    expect(fs.readFileSync(file, 'utf8')).toBe('on time\n');
    expect(p.stats).toMatchObject({ played: 1, rejected: 4, stale: 1 });

    const { log: log2, lines: lines2 } = captureLogger();
    const slow = SpeakerSchema.parse({
      command: [process.execPath, '-e', 'setTimeout(() => {}, 30000)'],
      timeoutMs: 300,
    });
    const q = new CommandPlayer({ cameraId: 'cam-1', topic: TOPIC, speaker: slow, log: log2 });
    q.receive(play({ id: 'n-8' }));
    await q.idle();
    expect(q.stats).toMatchObject({ played: 0, failed: 1 });
    expect(lines2).toContainEqual(
      expect.objectContaining({ command: 'n-8', err: expect.stringMatching(/did not finish within 300 ms/) }),
    );

    const missing = new CommandPlayer({
      cameraId: 'cam-1',
      topic: TOPIC,
      speaker: SpeakerSchema.parse({ command: ['/nonexistent/espeak-ng'] }),
      log: log2,
    });
    missing.receive(play({ id: 'n-9' }));
    await missing.idle();
    expect(missing.stats.failed).toBe(1);
    expect(lines2).toContainEqual(
      expect.objectContaining({ program: '/nonexistent/espeak-ng', msg: expect.stringMatching(/not found/) }),
    );
  });

  it('refuses a speaker config without a program', () => {
    expect(SpeakerSchema.safeParse({ command: [] }).success).toBe(false);
    expect(SpeakerSchema.parse({ command: ['espeak-ng', '-v', 'cmn'] })).toEqual({
      command: ['espeak-ng', '-v', 'cmn'],
      timeoutMs: 60_000,
      maxAgeS: 600,
    });
  });
});
