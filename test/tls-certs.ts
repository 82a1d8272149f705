// A throwaway certificate authority for TLS tests, made with the openssl command line at test time (no key or
// certificate is committed): a CA, and a server certificate it signs for 127.0.0.1 and localhost.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface TestCa {
  dir: string;
  /** The CA's certificate (PEM), what a client trusts. */
  caFile: string;
  /** A server certificate signed by the CA for 127.0.0.1 and localhost, and its key. */
  certFile: string;
  keyFile: string;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** Makes a CA named `name` and a server certificate signed by it, in `dir/name`. */
export function makeTestCa(dir: string, name: string): TestCa {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  const f = (n: string) => path.join(d, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '2',
    '-subj',
    `/CN=${name} test CA`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  openssl(['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost']);
  fs.writeFileSync(
    f('server.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  openssl([
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.crt'),
    '-days',
    '2',
    '-extfile',
    f('server.ext'),
  ]);
  return { dir: d, caFile: f('ca.crt'), certFile: f('server.crt'), keyFile: f('server.key') };
}
