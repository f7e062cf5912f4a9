/**
 * A self-signed certificate for TLS tests (`localhost` and 127.0.0.1, P-256, valid one day), made by the
 * system's openssl in a temporary folder that is removed again. No network, no fixture files to expire.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TestCertificate {
  readonly key: Buffer
  readonly cert: Buffer
}

let available: boolean | undefined

/** Why TLS tests cannot run here (a tap `skip` value), or false when openssl is installed. */
export function opensslMissing (): string | false {
  if (available === undefined) {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' })
      available = true
    } catch {
      available = false
    }
  }
  return available ? false : 'openssl is not installed'
}

/** A fresh key and self-signed certificate; throws when openssl is missing (check `opensslMissing()`). */
export function createTestCertificate (): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'nex-test-tls-'))
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'
    ], { stdio: 'ignore' })
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
