/**
 * Checks of PEM certificates and keys, done when the web config is loaded so that a wrong file is
 * reported at start, naming the key, instead of as a failed handshake on the first scrape.
 * Each function throws an Error whose message is a one-line reason without the key material.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';

const PEM_CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The first certificate of a PEM chain: the one the private key must belong to. */
export function parseLeafCertificate(pem: Buffer): X509Certificate {
  const [leaf] = parseCertificates(pem);
  if (leaf === undefined) throw new Error('contains no PEM certificate (-----BEGIN CERTIFICATE-----)');
  return leaf;
}

/** Every certificate of a CA bundle; a bundle without one would make every client certificate fail. */
export function parseCertificateBundle(pem: Buffer): X509Certificate[] {
  const certificates = parseCertificates(pem);
  if (certificates.length === 0) throw new Error('contains no PEM certificate (-----BEGIN CERTIFICATE-----)');
  return certificates;
}

export function parsePrivateKey(pem: Buffer): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new Error(`is not a usable unencrypted PEM private key (${reasonOf(error)})`);
  }
}

export function keyBelongsToCertificate(key: KeyObject, certificate: X509Certificate): boolean {
  return certificate.checkPrivateKey(key);
}

function parseCertificates(pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('utf8').match(PEM_CERTIFICATE_BLOCK) ?? [];
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new Error(`certificate #${index + 1} cannot be parsed (${reasonOf(error)})`);
    }
  });
}

function reasonOf(error: unknown): string {
  // Not `instanceof Error`: errors from Node's core can come from another realm (e.g. under jest).
  const message =
    typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string'
      ? error.message
      : String(error);
  return message.replace(/\s+/g, ' ').trim();
}
