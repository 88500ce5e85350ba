import { SnapshotError } from '../../domain/errors.js';

/** Codes only the billing webhook answers with; their messages live in the `billing` namespace. */
export type WebhookErrorCode =
  | 'webhook_signature_missing' | 'webhook_timestamp_invalid' | 'webhook_timestamp_expired' | 'webhook_signature_invalid'
  | 'webhook_unknown_event' | 'webhook_invalid_payload' | 'webhook_event_in_progress' | 'webhook_event_id_reused'
  | 'webhook_raw_body_unavailable';

/** A typed webhook error: stable code, HTTP status, message key `billing:errors.<code>`. */
export class WebhookError extends SnapshotError {
  override readonly i18nKey: string;
  constructor(code: WebhookErrorCode, status: number, params: Record<string, unknown> = {}) {
    super(code, status, params);
    this.i18nKey = `billing:errors.${code}`;
  }
}
