// redactUrl: what a URL is logged as keeps the place and drops every credential, whatever the scheme.
import { describe, expect, it } from 'vitest';
import { redactUrl } from './url.js';

const SECRET = 's3cret-pw';

describe('redactUrl', () => {
  it('drops user info and query, keeps scheme, host, port and path', () => {
    expect(redactUrl(`https://user:${SECRET}@cases.example.gov.cn/in?token=${SECRET}`)).toBe(
      'https://cases.example.gov.cn/in',
    );
    expect(redactUrl(new URL(`http://admin:${SECRET}@10.0.0.7:8080/snap.jpg?auth=${SECRET}#x`))).toBe(
      'http://10.0.0.7:8080/snap.jpg',
    );
  });

  it('works for broker URLs too', () => {
    expect(redactUrl(`mqtts://ingest:${SECRET}@broker.city.internal:8883`)).toBe('mqtts://broker.city.internal:8883');
  });

  it('never echoes what it cannot parse: it may be a secret', () => {
    expect(redactUrl(`not a url ${SECRET}`)).toBe('(invalid url)');
  });
});
