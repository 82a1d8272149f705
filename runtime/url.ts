// URLs in logs and messages. Broker, webhook, gateway and camera URLs often carry credentials
// (mqtt://user:pass@broker, http://user:pass@camera/..., ?token=...), and a log line is read by more people than the
// configuration is.

/** A URL fit for logs: no user info, no query (either may hold a token). */
export function redactUrl(url: string | URL): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
