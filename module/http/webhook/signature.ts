import { createHmac, timingSafeEqual } from 'node:crypto';
import { WebhookError } from './webhook-error.js';

/** Deliveries older or newer than this (by their signed timestamp) are refused: the replay window. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * The signature a sender puts in `X-Snapshots-Signature`: hex HMAC-SHA256, keyed with the shared
 * secret, of `<timestamp>.<raw body>` (the same as `openssl dgst -sha256 -hmac <secret>` over that string).
 */
export function webhookSignature(secret: string, timestamp: string, rawBody: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/**
 * Checks a delivery's headers against its raw body before anything in it is read. Throws a 401
 * `WebhookError` saying which part is wrong; the signature is compared in constant time.
 */
export function verifyWebhookSignature(opts: {
  secret: string; timestamp: string | undefined; signature: string | undefined; rawBody: Buffer; nowMs?: number;
}): void {
  const { secret, timestamp, signature, rawBody } = opts;
  if (!timestamp || !signature) throw new WebhookError('webhook_signature_missing', 401);
  if (!/^\d{1,12}$/.test(timestamp)) throw new WebhookError('webhook_timestamp_invalid', 401);
  const skew = Math.abs((opts.nowMs ?? Date.now()) / 1000 - Number(timestamp));
  if (skew > SIGNATURE_TOLERANCE_SECONDS) {
    throw new WebhookError('webhook_timestamp_expired', 401, { minutes: SIGNATURE_TOLERANCE_SECONDS / 60 });
  }
  const expected = Buffer.from(webhookSignature(secret, timestamp, rawBody), 'hex');
  const given = /^[0-9a-fA-F]{64}$/.test(signature.trim()) ? Buffer.from(signature.trim(), 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new WebhookError('webhook_signature_invalid', 401);
}
