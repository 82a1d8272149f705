// TLS material from files: the certificates and keys of the platform's own listeners (the embedded broker's MQTT
// over TLS, the API's HTTPS) and the CA a client trusts for a city's broker. A file that is missing, unreadable or
// not what it should be is a ConfigError naming the setting it came from, so the operator knows what to fix.
import fs from 'node:fs';
import tls from 'node:tls';
import { ConfigError } from './config.js';

/** Reads a PEM file named by `setting` (an environment variable or a config field). */
export function readPemFile(file: string, setting: string): Buffer {
  let pem: Buffer;
  try {
    pem = fs.readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT'
        ? 'does not exist'
        : err.code === 'EACCES'
          ? 'is not readable by this process'
          : err.message;
    throw new ConfigError(`${setting}: ${file} ${why}`);
  }
  if (!pem.includes('-----BEGIN '))
    throw new ConfigError(`${setting}: ${file} is not a PEM file (no "-----BEGIN" line)`);
  return pem;
}

export interface ServerTls {
  cert: Buffer;
  key: Buffer;
}

/**
 * A listener's certificate (chain) and private key, checked to belong together now rather than at the first client's
 * handshake.
 */
export function loadServerTls(certFile: string, keyFile: string, certSetting: string, keySetting: string): ServerTls {
  const cert = readPemFile(certFile, certSetting);
  const key = readPemFile(keyFile, keySetting);
  try {
    tls.createSecureContext({ cert, key });
  } catch (e) {
    throw new ConfigError(
      `${certSetting} and ${keySetting}: ${certFile} and ${keyFile} cannot be used together: ${(e as Error).message}`,
    );
  }
  return { cert, key };
}

/**
 * mqtt.js options of a client of an mqtts:// (or wss://) broker: with `caFile` only that CA is trusted (a city's own
 * CA), without it Node's built-in public CAs. The broker's certificate is always verified (mqtt.js's
 * rejectUnauthorized defaults to true and is never turned off here); a plain mqtt:// URL ignores the option.
 */
export function mqttTlsOptions(caFile: string | undefined, setting: string): { ca?: Buffer } {
  return caFile ? { ca: readPemFile(caFile, setting) } : {};
}

// Node's codes for a certificate chain that does not end at a CA the client trusts.
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

/**
 * What the operator can do about a failed TLS connection to a server, appended to the error's own message; '' for
 * errors that are not about its certificate. `caSetting` names where this client's CA is set.
 */
export function tlsFailureHint(e: Error & { code?: string | number }, caSetting: string): string {
  if (typeof e.code === 'string' && UNTRUSTED.has(e.code))
    return ` (the server's certificate is not signed by a CA this process trusts: set ${caSetting} to the CA that signed it)`;
  if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return " (the server's certificate is not for this host name: use one of its subjectAltName names in the URL)";
  if (e.code === 'CERT_HAS_EXPIRED') return " (the server's certificate has expired)";
  return '';
}
