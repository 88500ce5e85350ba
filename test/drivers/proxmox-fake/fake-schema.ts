/**
 * Parameter verification as pveproxy does it before any handler runs: every endpoint the driver uses
 * with its parameters (`additionalProperties => 0`), formats and the per-parameter error texts of
 * PVE::JSONSchema. Followed: qemu-server e6352be6 (9.2.6), pve-container 94f55852, pve-manager
 * 14a22df3 (PVE/API2/Cluster.pm resources, PVE/API2/Tasks.pm), pve-guest-common 4a8f6cbf, pve-storage
 * 0c56bad8 (9.1.7: API2/Storage/Config.pm index), pve-access-control 5ccd07d9 (9.1.1: /access/permissions),
 * pve-common f665029e (9.2.1: JSONSchema formats pve-storage-id, dns-name). Clone and destroy: Qemu.pm and
 * LXC.pm clone_vm and destroy_vm at the same commits.
 */
import { PveError } from './fake-cluster.js';

type Check = (value: string) => string | null;

const NODE = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i;
const CONFIGID = /^[a-z][a-z0-9_-]+$/i;
const BOOL = /^(0|1|true|false|yes|no|on|off)$/i;

const node: Check = (v) => (NODE.test(v) ? null : 'invalid format - value does not look like a valid node name');
const bool: Check = (v) => (BOOL.test(v) ? null : `type check ('boolean') failed - got '${v}'`);
const text: Check = () => null;
const integer = (min?: number): Check => (v) => {
  if (!/^-?\d+$/.test(v)) return `type check ('integer') failed - got '${v}'`;
  return min !== undefined && Number(v) < min ? `value must have a minimum value of ${min}` : null;
};
const vmid: Check = (v) => integer(100)(v) ?? (Number(v) > 999_999_999 ? 'value must have a maximum value of 999999999' : null);
const snapname: Check = (v) => {
  if (v.length > 40) return 'value may only be 40 characters long';
  return CONFIGID.test(v) ? null : `invalid format - invalid configuration ID '${v}'`;
};
const number = (min: number): Check => (v) => {
  if (!/^-?(\d+\.?\d*|\.\d+)$/.test(v)) return `type check ('number') failed - got '${v}'`;
  return Number(v) < min ? `value must have a minimum value of ${min}` : null;
};
/** parse_id: 2+ characters, a letter first, then letters, digits, `-`, `_`, `.`, ending in a letter or digit. */
const storageId: Check = (v) => {
  if (v.length < 2) return `invalid format - storage ID '${v}' cannot be shorter than 2 characters`;
  return /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(v) ? null : `invalid format - storage ID '${v}' contains illegal characters`;
};
const dnsName: Check = (v) => {
  const label = '([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)';
  return new RegExp(`^(${label}\\.)*${label}$`).test(v) ? null : 'invalid format - value does not look like a valid DNS name';
};
const oneOf = (...values: string[]): Check => (v) => (values.includes(v) ? null : `value '${v}' does not have a value in the enumeration '${values.join(', ')}'`);

interface Endpoint {
  method: string;
  /** Path with `{param}` placeholders, matched segment by segment. */
  path: string;
  params: Record<string, Check>;
  required?: string[];
}

const PATH_PARAMS: Record<string, Check> = { node, vmid, snapname, upid: text, type: oneOf('qemu', 'lxc') };

const ENDPOINTS: Endpoint[] = [
  { method: 'GET', path: '/access/permissions', params: { userid: (v) => (/^[^\s:/]+@[A-Za-z][A-Za-z0-9._-]+(![A-Za-z][A-Za-z0-9._-]+)?$/.test(v) ? null : `value does not match the regex pattern`), path: text } },
  { method: 'GET', path: '/cluster/resources', params: { type: oneOf('vm', 'storage', 'node', 'sdn') } },
  {
    method: 'GET', path: '/storage',
    params: { type: oneOf('btrfs', 'cephfs', 'cifs', 'dir', 'esxi', 'iscsi', 'iscsidirect', 'lvm', 'lvmthin', 'nfs', 'pbs', 'rbd', 'zfs', 'zfspool') },
  },
  { method: 'GET', path: '/nodes/{node}/storage', params: { content: text, enabled: bool, format: bool, storage: text, target: node } },
  {
    method: 'GET', path: '/nodes/{node}/tasks',
    params: {
      start: integer(0), limit: integer(0), userfilter: text, typefilter: text, vmid, errors: bool,
      source: oneOf('archive', 'active', 'all'), since: integer(), until: integer(), statusfilter: text,
    },
  },
  { method: 'GET', path: '/nodes/{node}/tasks/{upid}/status', params: {} },
  { method: 'GET', path: '/nodes/{node}/{type}/{vmid}/config', params: { current: bool, snapshot: snapname } },
  { method: 'GET', path: '/nodes/{node}/{type}/{vmid}/snapshot', params: {} },
  // Containers have no RAM state: pve-container keeps `vmstate` commented out of the schema.
  { method: 'POST', path: '/nodes/{node}/qemu/{vmid}/snapshot', params: { snapname, vmstate: bool, description: text }, required: ['snapname'] },
  { method: 'POST', path: '/nodes/{node}/lxc/{vmid}/snapshot', params: { snapname, description: text }, required: ['snapname'] },
  { method: 'DELETE', path: '/nodes/{node}/{type}/{vmid}/snapshot/{snapname}', params: { force: bool } },
  { method: 'POST', path: '/nodes/{node}/{type}/{vmid}/snapshot/{snapname}/rollback', params: { start: bool } },
  { method: 'PUT', path: '/nodes/{node}/{type}/{vmid}/snapshot/{snapname}/config', params: { description: text } },
  {
    method: 'POST', path: '/nodes/{node}/qemu/{vmid}/clone', required: ['newid'],
    params: {
      newid: vmid, name: dnsName, description: text, pool: text, snapname, storage: storageId,
      format: oneOf('raw', 'qcow2', 'vmdk'), full: bool, target: node, bwlimit: integer(0),
    },
  },
  {
    method: 'POST', path: '/nodes/{node}/lxc/{vmid}/clone', required: ['newid'],
    params: { newid: vmid, hostname: dnsName, description: text, pool: text, snapname, storage: storageId, full: bool, target: node, bwlimit: number(0) },
  },
  { method: 'DELETE', path: '/nodes/{node}/qemu/{vmid}', params: { skiplock: bool, purge: bool, 'destroy-unreferenced-disks': bool } },
  { method: 'DELETE', path: '/nodes/{node}/lxc/{vmid}', params: { force: bool, purge: bool, 'destroy-unreferenced-disks': bool } },
];

/** A boolean parameter as PVE reads it. */
export const isTrue = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v);

function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const out: Record<string, string> = {};
  for (const [i, w] of want.entries()) {
    const g = decodeURIComponent(got[i]!);
    if (w.startsWith('{')) out[w.slice(1, -1)] = g;
    else if (w !== g) return null;
  }
  return out;
}

/**
 * The endpoint's path parameters after checking them and the query/body parameters; throws 400
 * "Parameter verification failed." with PVE's per-parameter messages, or 501 for unknown endpoints.
 */
export function verifyRequest(method: string, path: string, params: Record<string, string>): Record<string, string> {
  for (const e of ENDPOINTS) {
    const pathParams = e.method === method ? match(e.path, path) : null;
    if (!pathParams) continue;
    const errors: Record<string, string> = {};
    for (const [k, v] of Object.entries(pathParams)) {
      const problem = PATH_PARAMS[k]!(v);
      if (problem) errors[k] = problem;
    }
    for (const [k, v] of Object.entries(params)) {
      const check = e.params[k];
      const problem = check ? check(v) : 'property is not defined in schema and the schema does not allow additional properties';
      if (problem) errors[k] = problem;
    }
    for (const k of e.required ?? []) if (params[k] === undefined) errors[k] = 'property is missing and it is not optional';
    if (Object.keys(errors).length > 0) throw new PveError(400, 'Parameter verification failed.', errors);
    return pathParams;
  }
  throw new PveError(501, `Method '${method} ${path}' not implemented`);
}
