// MariaDB's own statement counter and CPU, for the connections of one knex pool only. The server is
// shared (other benchmarks and test suites run on it), so SHOW GLOBAL STATUS would count their
// statements too: each of our connections reads its session's `Questions` instead, and the CPU of
// the server thread serving it (one thread per connection: /proc/<mariadbd>/task/<TID>/stat). The
// reading statement itself is one Question, subtracted. A benchmark's polling runs on another pool.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

interface RawConnection {
  query(sql: string, cb: (err: Error | null, rows?: Array<Record<string, unknown>>) => void): void;
}

interface Reading {
  questions: number;
  /** The serving thread's CPU seconds so far (null: the server is not local). */
  cpu: number | null;
}

const READ_SQL = `SELECT (SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'QUESTIONS') AS q,
  (SELECT TID FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()) AS tid`;

function mariadbPid(): string | null {
  try {
    return execFileSync('pgrep', ['-x', 'mariadbd']).toString().trim().split('\n')[0] ?? null;
  } catch {
    return null;
  }
}

function threadCpuSeconds(pid: string | null, tid: unknown): number | null {
  if (pid === null || tid === null || tid === undefined) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/task/${String(tid)}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

export class StatementMeter {
  private readonly base = new Map<RawConnection, Promise<Reading>>();
  private readonly pid = mariadbPid();

  /** `log` sees the text of every statement sent on a metered connection (BEGIN and COMMIT included). */
  constructor(private readonly log?: (sql: string) => void) {}

  /** knex pool option: every connection is read once when made (a new thread may be a reused one). */
  readonly afterCreate = (conn: RawConnection, done: (err: Error | null, conn: RawConnection) => void): void => {
    const log = this.log;
    if (log) {
      const query = conn.query.bind(conn) as (...args: unknown[]) => unknown;
      (conn as { query: unknown }).query = (...args: unknown[]) => {
        const q = args[0];
        const sql = typeof q === 'string' ? q : String((q as { sql?: string }).sql);
        if (sql !== READ_SQL) log(sql);
        return query(...args);
      };
    }
    const first = this.read(conn);
    this.base.set(conn, first);
    first.then(() => done(null, conn), (err: Error) => done(err, conn));
  };

  private read(conn: RawConnection): Promise<Reading> {
    return new Promise((resolve, reject) => conn.query(READ_SQL, (err, rows) => {
      if (err) return reject(err);
      resolve({ questions: Number(rows![0]!.q), cpu: threadCpuSeconds(this.pid, rows![0]!.tid) });
    }));
  }

  /** Starts a window: the connections open now count from here, new ones from their creation. */
  async start(): Promise<void> {
    await Promise.all([...this.base.keys()].map(async (c) => this.base.set(c, Promise.resolve(await this.read(c)))));
  }

  /** Statements our connections sent since start() (the readings excluded), and their server threads' CPU. */
  async stop(): Promise<{ statements: number; mariadbCpuSeconds: number | null; connections: number }> {
    let statements = 0;
    let cpu: number | null = 0;
    for (const [conn, base] of this.base) {
      const [b, e] = [await base, await this.read(conn)];
      statements += e.questions - b.questions - 1;
      cpu = cpu === null || b.cpu === null || e.cpu === null ? null : cpu + e.cpu - b.cpu;
    }
    return { statements, mariadbCpuSeconds: cpu, connections: this.base.size };
  }
}
