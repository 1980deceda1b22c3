/**
 * A self-signed certificate for tests that need TLS on 127.0.0.1 (nginx in front of Letter, the
 * local Web Push service), made by Debian's openssl.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const OPENSSL = ['/usr/bin/openssl', '/usr/local/bin/openssl'].find((path) => existsSync(path));

/** Writes `key.pem` and `cert.pem` (P-256, 2 days, for localhost and 127.0.0.1) into `dir`. */
export function selfSignedCertificate(dir: string): { key: string; cert: string } {
  if (!OPENSSL) throw new Error('openssl is missing: install it (apt-get install openssl)');
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    OPENSSL,
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { key, cert };
}
