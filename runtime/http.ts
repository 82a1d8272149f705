// Outgoing HTTP: what every call to a system outside the platform (the case webhook, the SMS gateway, the plate
// look-up hook, a camera's snapshot URL) needs. Their answers are read with a size bound (res.text() and
// res.arrayBuffer() keep whatever the other side sends, so a broken or hostile endpoint streaming gigabytes takes the
// process down), and their URLs are logged without the credentials they often carry (http://user:pass@camera/...,
// ?token=...: runtime/url.ts).

/** The body was longer than the caller's bound; the rest was not read (the connection is closed). */
export class ResponseTooLargeError extends Error {
  constructor(
    readonly maxBytes: number,
    readonly declaredBytes?: number,
  ) {
    super(
      `answer larger than ${maxBytes} bytes${declaredBytes !== undefined ? ` (Content-Length ${declaredBytes})` : ''}: not read`,
    );
    this.name = 'ResponseTooLargeError';
  }
}

export interface ReadBodyOptions {
  /**
   * Keep the first maxBytes and stop there instead of failing: for an error answer that only goes into a message.
   * Default false: a longer body rejects with ResponseTooLargeError.
   */
  truncate?: boolean;
}

/**
 * Reads at most `maxBytes` of a response body. Past that it cancels the body (undici then closes the connection, so
 * the sender stops) and rejects with ResponseTooLargeError, or with `truncate` resolves with the first maxBytes. A
 * Content-Length above the bound is refused before reading anything.
 */
export async function readBody(res: Response, maxBytes: number, opts: ReadBodyOptions = {}): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (!opts.truncate && Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new ResponseTooLargeError(maxBytes, declared);
  }
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (total + value.byteLength > maxBytes) {
        await reader.cancel().catch(() => undefined);
        if (!opts.truncate) throw new ResponseTooLargeError(maxBytes);
        chunks.push(Buffer.from(value.buffer, value.byteOffset, maxBytes - total));
        total = maxBytes;
        break;
      }
      chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      total += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks, total);
}

/**
 * The start of an answer as one line of text, for an error message: at most `maxChars` characters, whitespace
 * collapsed. Reads no more than 4 bytes per character.
 */
export async function readAnswerSnippet(res: Response, maxChars = 300): Promise<string> {
  const b = await readBody(res, maxChars * 4, { truncate: true });
  return b
    .toString('utf8')
    .replace(/\uFFFD+$/, '')
    .slice(0, maxChars)
    .trim()
    .replace(/\s+/g, ' ');
}

/**
 * fetch() for a URL that may carry user:password (a camera's http://admin:pw@192.168.1.64/snapshot.jpg, a webhook's
 * https://user:pw@host/cases): fetch refuses such a URL with an error that repeats it, password and all, into the
 * log. The credentials go as HTTP Basic instead, as curl and browsers send them; an Authorization header the caller
 * sets wins. `f` is fetch unless a test passes its own.
 */
export function fetchWithUrlCredentials(
  url: string | URL,
  init: RequestInit = {},
  f: typeof fetch = fetch,
): Promise<Response> {
  const u = new URL(url);
  if (!u.username && !u.password) return f(u, init);
  const basic = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  u.username = '';
  u.password = '';
  const headers = new Headers(init.headers);
  if (!headers.has('authorization')) headers.set('authorization', basic);
  return f(u, { ...init, headers });
}

// vision/ is another branch's at the moment: its relay imports redactUrl from here until it takes runtime/url.ts.
export { redactUrl } from './url.js';
