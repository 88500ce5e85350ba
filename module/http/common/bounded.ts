/**
 * `map`'s value for `key`, made with `make` the first time. The map is emptied once it holds `limit`
 * entries: its keys come partly from requests (languages, timezones, values), so it must stay
 * bounded, and starting over costs only what the entries saved.
 */
export function remembered<K, V>(map: Map<K, V>, key: K, limit: number, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    if (map.size >= limit) map.clear();
    map.set(key, value);
  }
  return value;
}
