// `npm run test:mysql`: refuses to run without MYSQL_URL, so a MySQL run can never silently test SQLite only.
if (!process.env.MYSQL_URL) {
  console.error('Set MYSQL_URL, e.g. MYSQL_URL=mysql://root@127.0.0.1:3306/test npm run test:mysql');
  process.exit(1);
}
