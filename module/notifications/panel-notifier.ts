import type { i18n } from 'i18next';
import type { Logger } from 'pino';
import type { PanelAdapter } from '../config/panel-adapter.js';
import type { NotificationEvent, Notifier } from '../domain/deps.js';
import { supportedLocale } from '../i18n/i18n.js';
import { EmailRenderer } from './email-renderer.js';
import { isMailed } from './mail-policy.js';

/**
 * Sends domain events to `panel.notify` with subject, text and HTML body rendered from the event's
 * email template in the service owner's language (the one they last used in the panel, else the
 * module's default), when the mail policy says the owner needs it (mail-policy.ts). A failing panel
 * never fails the action that caused the event: it is logged.
 */
export class PanelNotifier implements Notifier {
  private readonly emails: EmailRenderer;

  constructor(private readonly panel: PanelAdapter, i18n: i18n, private readonly logger: Logger,
    private readonly defaultLocale: string, private readonly localeOf: (userId: string) => Promise<string | null>) {
    this.emails = new EmailRenderer(i18n);
  }

  async notify(event: NotificationEvent): Promise<void> {
    if (!this.panel.notify) return;
    try {
      const service = await this.panel.getService(event.serviceId);
      if (!service || !isMailed(event, service.ownerId)) return;
      const locale = supportedLocale(await this.localeOf(service.ownerId)) ?? this.defaultLocale;
      const params = { ...event.params, service: service.name };
      const mail = await this.emails.render(event.type, locale, params);
      await this.panel.notify({
        type: event.type, serviceId: service.id, recipientId: service.ownerId, locale,
        subject: mail.subject, body: mail.text, html: mail.html, params,
      });
    } catch (err) {
      this.logger.warn({ err, event: event.type }, 'snapshot module: panel.notify failed');
    }
  }
}
