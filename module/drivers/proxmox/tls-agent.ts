import { Agent, type AgentOptions, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { ProxmoxTls } from './options.js';

/** The certificate presented did not match the pinned fingerprint. */
export class FingerprintMismatchError extends Error {
  readonly code = 'ERR_PROXMOX_FINGERPRINT_MISMATCH';
  constructor(expected: string, actual: string) {
    super(`certificate fingerprint ${actual || '(none)'} does not match the pinned ${expected}`);
  }
}

/** `AB:CD:…` upper case, the form Node reports and Proxmox shows. */
export function normalizeFingerprint(fp: string): string {
  const hex = fp.replace(/:/g, '').toUpperCase();
  return hex.match(/.{2}/g)!.join(':');
}

/**
 * An agent that checks the pinned certificate during the handshake and only then hands the socket
 * to the request, so not one byte (the API token included) reaches a server with another certificate.
 * Uses the documented asynchronous form of `createConnection(options, callback)`.
 */
class PinnedAgent extends Agent {
  constructor(options: AgentOptions, private readonly fingerprint: string) {
    super(options);
  }

  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): undefined {
    const socket: TLSSocket = connect({ ...(options as ConnectionOptions), rejectUnauthorized: false });
    const done = callback ?? (() => undefined);
    const onError = (err: Error) => done(err, socket);
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      const actual = socket.getPeerCertificate()?.fingerprint256 ?? '';
      if (actual !== this.fingerprint) {
        const err = new FingerprintMismatchError(this.fingerprint, actual);
        socket.destroy(err);
        return;
      }
      socket.off('error', onError);
      done(null, socket);
    });
    // Returning nothing makes the agent wait for the callback (see http.Agent#createSocket).
    return undefined;
  }
}

/**
 * One agent per driver instance: the TLS choice lives here and nowhere else, never in process-wide
 * settings (NODE_TLS_REJECT_UNAUTHORIZED, https.globalAgent), so two clusters can differ.
 */
export function createTlsAgent(tls: ProxmoxTls): Agent {
  const base: AgentOptions = { keepAlive: true, maxSockets: 8, maxCachedSessions: 0 };
  if (tls.fingerprint) return new PinnedAgent(base, normalizeFingerprint(tls.fingerprint));
  if (tls.insecure) return new Agent({ ...base, rejectUnauthorized: false });
  if (tls.ca) return new Agent({ ...base, ca: tls.ca, rejectUnauthorized: true });
  return new Agent({ ...base, rejectUnauthorized: true });
}
