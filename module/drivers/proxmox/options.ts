import { z } from 'zod';

/**
 * PVE's user-name rules (PVE::Auth::Plugin, PVE::AccessControl): the user part has no whitespace,
 * `:` or `/`; the realm and the token id start with a letter, then at least one of letters, digits,
 * `.`, `-` or `_`; `user@realm` is 3 to 64 characters. `=` would end the id in the Authorization header.
 */
const TOKEN_ID = /^(?<userid>([^\s:/=]+)@[A-Za-z][A-Za-z0-9._-]+)![A-Za-z][A-Za-z0-9._-]+$/;
function isTokenId(value: string): boolean {
  const userid = TOKEN_ID.exec(value)?.groups?.userid;
  return userid !== undefined && userid.length >= 3 && userid.length <= 64;
}
/** SHA-256 of the certificate, 32 bytes in hex, colons optional (Proxmox shows `AB:CD:…`). */
const FINGERPRINT = /^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$/;

const tlsSchema = z.strictObject({
  /** PEM of the CA that signed the node certificates (a cluster's /etc/pve/pve-root-ca.pem). */
  ca: z.string().includes('-----BEGIN CERTIFICATE-----').optional(),
  /** Pin one certificate by its SHA-256 fingerprint; the chain is then not checked. */
  fingerprint: z.string().regex(FINGERPRINT, 'SHA-256 fingerprint, 64 hex digits (colons allowed)').optional(),
  /** Accept any certificate. Only for labs: the API token travels to whoever answers. */
  insecure: z.boolean().optional(),
}).refine((t) => [t.ca, t.fingerprint, t.insecure].filter((x) => x !== undefined && x !== false).length <= 1, {
  message: 'choose one of tls.ca, tls.fingerprint or tls.insecure',
});

export const proxmoxOptionsSchema = z.strictObject({
  /** Driver name used in service targets (`target.driver`). */
  name: z.string().min(1).default('proxmox'),
  /** Base URL of any cluster node, e.g. `https://pve1.example.net:8006`. */
  url: z.url({ protocol: /^https$/, error: 'an https:// URL such as https://pve.example.net:8006' }),
  tokenId: z.string().refine(isTokenId, 'USER@REALM!TOKENID under PVE\'s user-name rules, e.g. snapshots@pve!panel'),
  tokenSecret: z.string().min(1),
  /** Default: the system's trusted CAs (a cluster with a public certificate). */
  tls: tlsSchema.default({}),
  timeouts: z.strictObject({
    /** Longest wait for one HTTP request, connect to last byte. */
    requestMs: z.number().int().min(100).max(600_000).default(15_000),
    /** How long a VM's capabilities (disks on ZFS or not) are reused before asking again. */
    capabilitiesCacheMs: z.number().int().min(0).max(3_600_000).default(60_000),
  }).default({ requestMs: 15_000, capabilitiesCacheMs: 60_000 }),
  /** Offer memory (vmstate) snapshots; turn off where RAM states would fill the storage. */
  memory: z.boolean().default(true),
});

export type ProxmoxDriverOptions = z.input<typeof proxmoxOptionsSchema>;
export type ProxmoxConfig = z.output<typeof proxmoxOptionsSchema>;
export type ProxmoxTls = ProxmoxConfig['tls'];

/** Validates driver options; throws with every problem named (at panel start, not at first use). */
export function parseProxmoxOptions(input: unknown): ProxmoxConfig {
  const parsed = proxmoxOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`);
    throw new Error(`invalid Proxmox driver options: ${problems.join('; ')}`);
  }
  return parsed.data;
}
