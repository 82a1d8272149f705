// Commands to a camera, as its edge agent receives them on city/v1/{district}/camera/{cameraId}/commands: "play"
// says a text on the camera's loudspeaker (the notice service, after a reviewer confirmed a violation there). Played
// one at a time, each command id once (QoS 1 delivers at least once), not when it waited too long; the speaker
// program runs without a shell and is killed after its timeout. Without a speaker the text is logged. A message that
// is not a valid command is logged and handed to the dead-letter sink, like other bad input at the edge.
import { spawn, type ChildProcess } from 'node:child_process';
import { CameraCommandSchema, type CameraCommand } from '../../../contracts/index.js';
import type { Logger } from '../../../runtime/log.js';
import type { Speaker } from './config.js';

/** Where the edge agent's dead letters go (the gateway link's deadLetter has this shape). */
export interface EdgeDeadLetterSink {
  deadLetter(d: { source: string; reason: string; raw: Buffer }): void;
}

export interface CommandStats {
  /** Commands played (or logged, without a speaker). */
  played: number;
  /** Playbacks that failed: the program could not start, exited non-zero or timed out. */
  failed: number;
  /** Messages that were not valid commands (dead letters). */
  rejected: number;
  duplicates: number;
  /** Valid commands not played because they were issued too long ago. */
  stale: number;
  /** Dropped because too many were waiting. */
  dropped: number;
}

const MAX_COMMAND_BYTES = 8192;
const MAX_QUEUED = 16;
const REMEMBERED_IDS = 256;
/** Without a speaker there is no maxAgeS setting: a late text is still logged, marked stale. */
const DEFAULT_MAX_AGE_S = 600;

function validate(payload: Buffer): { ok: true; command: CameraCommand } | { ok: false; reason: string } {
  if (payload.length > MAX_COMMAND_BYTES)
    return { ok: false, reason: `command of ${payload.length} bytes is larger than ${MAX_COMMAND_BYTES}` };
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (e) {
    return { ok: false, reason: `command is not JSON: ${(e as Error).message}` };
  }
  const r = CameraCommandSchema.safeParse(json);
  if (r.success) return { ok: true, command: r.data };
  return {
    ok: false,
    reason: `not a camera command: ${r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ')}`,
  };
}

export class CommandPlayer {
  readonly stats: CommandStats = { played: 0, failed: 0, rejected: 0, duplicates: 0, stale: 0, dropped: 0 };
  private readonly queue: Extract<CameraCommand, { type: 'play' }>[] = [];
  private readonly seen = new Set<string>();
  private playing = false;
  private stopped = false;
  private child: ChildProcess | null = null;
  private idleWaiters: (() => void)[] = [];
  private notFoundLogged = false;

  constructor(
    private readonly o: {
      cameraId: string;
      /** The commands topic (source of dead letters). */
      topic: string;
      speaker?: Speaker;
      log: Logger;
      deadLetters?: EdgeDeadLetterSink;
    },
  ) {}

  /** A message on the camera's commands topic. */
  receive(payload: Buffer): void {
    if (this.stopped) return;
    const cmd = this.parse(payload);
    if (!cmd) return;
    if (this.seen.has(cmd.id)) {
      this.stats.duplicates++;
      this.o.log.debug(
        { camera: this.o.cameraId, command: cmd.id },
        'camera command already received: not played again',
      );
      return;
    }
    this.seen.add(cmd.id);
    if (this.seen.size > REMEMBERED_IDS) this.seen.delete(this.seen.values().next().value!);
    this.queue.push(cmd);
    if (this.queue.length > MAX_QUEUED) {
      const old = this.queue.shift()!;
      this.stats.dropped++;
      this.o.log.warn(
        { camera: this.o.cameraId, command: old.id, queued: MAX_QUEUED },
        'too many camera commands waiting: the oldest is not played',
      );
    }
    void this.pump();
  }

  private parse(payload: Buffer): CameraCommand | null {
    const r = validate(payload);
    if (r.ok) return r.command;
    this.stats.rejected++;
    this.o.log.warn(
      { camera: this.o.cameraId, topic: this.o.topic, reason: r.reason },
      'camera command refused (dead letter)',
    );
    this.o.deadLetters?.deadLetter({ source: this.o.topic, reason: r.reason, raw: payload.subarray(0, 4096) });
    return null;
  }

  private async pump(): Promise<void> {
    if (this.playing) return;
    this.playing = true;
    try {
      while (!this.stopped && this.queue.length > 0) await this.play(this.queue.shift()!);
    } finally {
      this.playing = false;
      if (this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async play(cmd: CameraCommand): Promise<void> {
    const log = this.o.log;
    const camera = this.o.cameraId;
    const ageS = Math.round((Date.now() - cmd.issuedAt) / 1000);
    const maxAgeS = this.o.speaker?.maxAgeS ?? DEFAULT_MAX_AGE_S;
    if (ageS > maxAgeS) {
      this.stats.stale++;
      log.warn(
        { camera, command: cmd.id, ageS, maxAgeS, text: cmd.text },
        'camera command issued too long ago: not played',
      );
      return;
    }
    if (!this.o.speaker) {
      this.stats.played++;
      log.info(
        { camera, command: cmd.id, text: cmd.text, repeat: cmd.repeat },
        'loudspeaker command (no speaker configured: text logged)',
      );
      return;
    }
    for (let i = 0; i < cmd.repeat && !this.stopped; i++) {
      const err = await this.run(this.o.speaker, cmd.text);
      if (err) {
        this.stats.failed++;
        log.warn({ camera, command: cmd.id, err }, 'loudspeaker playback failed');
        return;
      }
    }
    if (this.stopped) return;
    this.stats.played++;
    log.info({ camera, command: cmd.id, repeat: cmd.repeat, chars: cmd.text.length }, 'loudspeaker command played');
  }

  /** Runs the speaker program once with the text as its last argument; resolves with an error message or null. */
  private run(speaker: Speaker, text: string): Promise<string | null> {
    const [program, ...args] = speaker.command as [string, ...string[]];
    return new Promise((resolve) => {
      let stderr = '';
      let timedOut = false;
      let child: ChildProcess;
      try {
        child = spawn(program, [...args, text], {
          stdio: ['ignore', 'ignore', 'pipe'],
          shell: false,
          windowsHide: true,
        });
      } catch (e) {
        resolve(`cannot start ${program}: ${(e as Error).message}`);
        return;
      }
      this.child = child;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, speaker.timeoutMs);
      child.stderr?.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString('utf8')).slice(-500);
      });
      child.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        this.child = null;
        if (e.code === 'ENOENT' && !this.notFoundLogged) {
          this.notFoundLogged = true;
          this.o.log.error(
            { camera: this.o.cameraId, program },
            'speaker program not found: install it or fix cameras[].speaker.command',
          );
        }
        resolve(`cannot start ${program}: ${e.message}`);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.child = null;
        if (timedOut) resolve(`${program} did not finish within ${speaker.timeoutMs} ms: stopped`);
        else if (this.stopped) resolve(null);
        else if (code !== 0) resolve(`${program} exited with ${code ?? signal}${stderr ? `: ${stderr.trim()}` : ''}`);
        else resolve(null);
      });
    });
  }

  /** Resolves when no command is waiting or playing (tests). */
  idle(): Promise<void> {
    if (!this.playing && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stops playing: what waits is dropped, a running playback is killed. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.child?.kill('SIGKILL');
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
