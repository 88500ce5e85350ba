import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  /** PEM of the fake cluster's root CA (what /etc/pve/pve-root-ca.pem is on a real cluster). */
  caPem: string;
  /** The node's certificate (signed by the CA, valid for localhost and 127.0.0.1) and key. */
  certPem: string;
  keyPem: string;
  /** SHA-256 fingerprint of the node certificate, `AB:CD:…` as Proxmox shows it. */
  fingerprint: string;
  /** Fingerprint of another certificate, for "pinned something else" tests. */
  otherFingerprint: string;
}

let cached: TestCerts | null = null;

/**
 * A CA and a node certificate made with the `openssl` CLI at test time (nothing checked in, nothing
 * long-lived). Cached per test process.
 */
export function testCerts(): TestCerts {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'fake-pve-certs-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Fake PVE Cluster CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    ssl('req', ...ec, '-keyout', 'node.key', '-out', 'node.csr', '-subj', '/CN=localhost');
    writeFileSync(join(dir, 'ext.cnf'), [
      'subjectAltName=DNS:localhost,IP:127.0.0.1', 'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth', '',
    ].join('\n'));
    ssl('x509', '-req', '-in', 'node.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'node.pem', '-days', '2', '-extfile', 'ext.cnf');
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    const caPem = read('ca.pem');
    const certPem = read('node.pem');
    cached = {
      caPem, certPem, keyPem: read('node.key'),
      fingerprint: new X509Certificate(certPem).fingerprint256,
      otherFingerprint: new X509Certificate(caPem).fingerprint256,
    };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
