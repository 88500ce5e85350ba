import type { i18n } from 'i18next';
import type { Logger } from 'pino';
import type { PanelAdapter } from '../config/panel-adapter.js';
import type { NotificationEvent, Notifier } from '../domain/deps.js';
import { supportedLocale } from '../i18n/i18n.js';

/**
 * Sends domain events to `panel.notify` with subject and body in the service owner's language. A
 * failing panel never fails the action that caused the event: it is logged instead.
 */
export class PanelNotifier implements Notifier {
  constructor(private readonly panel: PanelAdapter, private readonly i18n: i18n, private readonly logger: Logger,
    private readonly defaultLocale: string, private readonly localeOf: (userId: string) => Promise<string | null>) {}

  async notify(event: NotificationEvent): Promise<void> {
    if (!this.panel.notify) return;
    try {
      const service = await this.panel.getService(event.serviceId);
      if (!service) return;
      const locale = supportedLocale(await this.localeOf(service.ownerId)) ?? this.defaultLocale;
      const t = this.i18n.getFixedT(locale, 'notifications');
      const params = { ...event.params, service: service.name };
      await this.panel.notify({
        type: event.type, serviceId: service.id, recipientId: service.ownerId, locale,
        subject: t(`${event.type}.subject`, params), body: t(`${event.type}.body`, params), params,
      });
    } catch (err) {
      this.logger.warn({ err, event: event.type }, 'snapshot module: panel.notify failed');
    }
  }
}
