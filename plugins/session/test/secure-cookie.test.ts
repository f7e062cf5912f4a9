// `Secure` on the session cookie over a real TLS listener (a self-signed certificate made by openssl for
// this run), for both backends; none over plain HTTP.
import { request as httpsRequest } from 'node:https'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createTestCertificate, opensslMissing } from '@nex/testing'
import { buildApp } from './helpers.js'

/** POSTs a JSON body over a real socket and resolves with the Set-Cookie headers. */
async function post (url: string, body: unknown, ca?: Buffer): Promise<string[]> {
  const send = url.startsWith('https:') ? httpsRequest : httpRequest
  return await new Promise((resolve, reject) => {
    const req = send(url, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, ...(ca === undefined ? {} : { ca }) }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.headers['set-cookie'] ?? []))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

const { key, cert } = opensslMissing() === false ? createTestCertificate() : { key: Buffer.alloc(0), cert: Buffer.alloc(0) }

for (const backend of ['store', 'cookie'] as const) {
  t.test(`${backend} backend: Secure over TLS with secure: "auto"`, { skip: opensslMissing() }, async (t) => {
    const app = await buildApp(t, { backend }, { fastify: { https: { key, cert } } })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as AddressInfo
    // The certificate is trusted as a CA: the TLS connection is verified, not waved through.
    const [cookie] = await post(`https://127.0.0.1:${port}/set`, { key: 'a', value: 1 }, cert)
    t.match(cookie, /^nex_session=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/)
  })

  t.test(`${backend} backend: no Secure over plain HTTP; secure: true forces it`, async (t) => {
    const auto = await buildApp(t, { backend })
    await auto.listen({ port: 0, host: '127.0.0.1' })
    const [plain] = await post(`http://127.0.0.1:${(auto.server.address() as AddressInfo).port}/set`, { key: 'a', value: 1 })
    t.match(plain, /^nex_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/)

    const forced = await buildApp(t, { backend, secure: true })
    await forced.listen({ port: 0, host: '127.0.0.1' })
    const [secure] = await post(`http://127.0.0.1:${(forced.server.address() as AddressInfo).port}/set`, { key: 'a', value: 1 })
    t.match(secure, /; Secure; /)
  })
}
