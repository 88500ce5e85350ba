/** Whether `tz` is an IANA timezone this runtime knows (e.g. Asia/Seoul), by asking Intl. */
export function isTimezone(tz: string): boolean {
  if (!tz) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
