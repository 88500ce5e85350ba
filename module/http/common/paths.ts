/** Where a service's Snapshots page lives: the menu item, the layout and the pages' forms all use it. */
export function snapshotsPath(serviceId: string): string {
  return `/services/${encodeURIComponent(serviceId)}/snapshots`;
}

/** The All snapshots page: every service's snapshots, for panels with `listServices`. */
export function allSnapshotsPath(): string {
  return '/snapshots';
}
