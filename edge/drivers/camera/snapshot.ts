// A camera's snapshot URL, polled: one JPEG per interval. Cameras put it behind HTTP Basic or Digest authentication
// (Hikvision's ISAPI /ISAPI/Streaming/channels/101/picture answers only Digest), so the source answers the camera's
// challenge; the answer is read with a size bound, and a redirect is followed only on the same origin: a camera that
// sends us elsewhere would otherwise make us fetch (and send the credentials to) whatever it names.
import { DigestSession, basicAuthorization, parseChallenges, pickDigest } from '../../../runtime/http-auth.js';
import { readBody } from '../../../runtime/http.js';
import { redactUrl } from '../../../runtime/url.js';
import type { Logger } from '../../../runtime/log.js';
import type { CameraSource } from './config.js';
import type { FrameSource } from './source.js';

export type SnapshotSourceConfig = Extract<CameraSource, { type: 'snapshot' }>;

const MAX_REDIRECTS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A snapshot request that did not give an image: the message is fit for the log (no credentials). */
export class SnapshotError extends Error {}

/**
 * Fetches a snapshot once: answers a 401's Basic or Digest challenge (as `auth` allows), follows same-origin
 * redirects, reads at most maxBytes. Keeps the Digest session between calls (one round trip per frame while the
 * camera accepts its nonce). Exported for tests.
 */
export class SnapshotClient {
  private readonly url: URL;
  private readonly username: string | undefined;
  private readonly password: string;
  private digest: DigestSession | null = null;
  /** The camera asked for Basic once: send it at once from then on. */
  private basic = false;

  constructor(
    private readonly src: Pick<
      SnapshotSourceConfig,
      'url' | 'username' | 'password' | 'auth' | 'timeoutMs' | 'maxBytes'
    >,
  ) {
    const u = new URL(src.url);
    // Credentials in the URL (http://admin:pw@camera/...) as vendors document it, unless given apart.
    this.username = src.username ?? (u.username ? decodeURIComponent(u.username) : undefined);
    this.password = src.password ?? decodeURIComponent(u.password);
    u.username = '';
    u.password = '';
    this.url = u;
    this.basic = src.auth === 'basic' && this.username !== undefined;
  }

  async fetch(): Promise<Buffer> {
    const signal = AbortSignal.timeout(this.src.timeoutMs);
    let url = this.url;
    let challenged = false;
    for (let hops = 0; ;) {
      const headers: Record<string, string> = {};
      const target = url.pathname + url.search;
      if (this.username !== undefined) {
        if (this.digest) headers.authorization = this.digest.authorization('GET', target);
        else if (this.basic) headers.authorization = basicAuthorization(this.username, this.password);
      }
      const res = await fetch(url, { headers, redirect: 'manual', signal });
      if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
        await res.body?.cancel();
        const next = new URL(res.headers.get('location')!, url);
        if (next.origin !== this.url.origin)
          throw new SnapshotError(`redirect to another host refused (${redactUrl(next)})`);
        if (++hops > MAX_REDIRECTS) throw new SnapshotError(`more than ${MAX_REDIRECTS} redirects`);
        url = next;
        continue;
      }
      if (res.status === 401 && this.username !== undefined && !challenged) {
        await res.body?.cancel();
        challenged = true;
        this.answer(res.headers.get('www-authenticate') ?? '');
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        if (res.status === 401) this.digest = null; // a new challenge next time
        throw new SnapshotError(
          `HTTP ${res.status}${res.status === 401 ? (this.username === undefined ? ' (the camera wants credentials: set username and password)' : ' (wrong username or password)') : ''}`,
        );
      }
      // Bounded: whatever answers at the URL could stream without end.
      return await readBody(res, this.src.maxBytes);
    }
  }

  /** Takes the camera's challenge: Digest when offered (the password stays home), Basic only when allowed. */
  private answer(header: string): void {
    const challenges = parseChallenges(header);
    const digest = this.src.auth === 'basic' ? null : pickDigest(challenges);
    if (digest) {
      this.digest = new DigestSession(digest, this.username!, this.password);
      this.basic = false;
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (this.src.auth === 'digest')
        throw new SnapshotError(
          'the camera asks for Basic authentication, and auth is "digest": the password is not sent in the clear',
        );
      this.basic = true;
      this.digest = null;
      return;
    }
    throw new SnapshotError(
      `HTTP 401 with no challenge we can answer (${challenges.map((c) => c.scheme).join(', ') || 'none'})`,
    );
  }
}

/** Polls a camera's snapshot URL; exported for tests. */
export function snapshotSource(src: SnapshotSourceConfig, log: Logger, camId: string): FrameSource {
  let stopped = false;
  let due = Date.now();
  let failing = false;
  const client = new SnapshotClient(src);
  return {
    async next() {
      while (!stopped) {
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        due = Math.max(due + src.intervalMs, Date.now());
        const ts = Date.now();
        try {
          const image = await client.fetch();
          if (failing) log.info({ camera: camId }, 'camera snapshot works again');
          failing = false;
          return { ts, image };
        } catch (e) {
          if (!failing)
            log.warn(
              { camera: camId, url: redactUrl(src.url), err: (e as Error).message },
              'camera snapshot failed; retrying every interval',
            );
          failing = true;
        }
      }
      return null;
    },
    stop() {
      stopped = true;
    },
  };
}
