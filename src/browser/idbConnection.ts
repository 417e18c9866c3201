// One object store of one IndexedDB database, opened on first use at whatever version the
// database has, upgraded (current version + 1) when the store is missing, closed when another
// connection upgrades the database and reopened by the next call. Shared by indexedDbStore and
// indexedDbJournal, so that any number of them may share a database.

/** What an object store needs besides existing (an index), and how an upgrade makes it so. */
export interface StoreShape {
  /** Whether the existing store has everything (e.g. its index). Default: it does. */
  complete?(store: IDBObjectStore): boolean;
  /** In the upgrade's `versionchange` transaction: creates the store `storeName` (`existing` undefined) or completes it. */
  upgrade(db: IDBDatabase, storeName: string, existing: IDBObjectStore | undefined): void;
}

interface Connection {
  readonly db: IDBDatabase;
  /** Closed by us (another connection upgrades the database) or by the browser (`close` event). */
  closed: boolean;
  /** Marks it closed; the next call opens a new one. */
  drop(): void;
}

// Opens of one database in this page, one at a time: two stores of one database opened at once
// would both find their store missing, both ask for the same next version, and the second find
// its store missing again.
const opening = new Map<string, Promise<unknown>>();

function oneAtATime<T>(dbName: string, open: () => Promise<T>): Promise<T> {
  const next = (opening.get(dbName) ?? Promise.resolve()).then(open, open);
  const settled = next.then(
    () => undefined,
    () => undefined,
  );
  opening.set(dbName, settled);
  void settled.then(() => {
    if (opening.get(dbName) === settled) opening.delete(dbName);
  });
  return next;
}

// Upgrades that another page's upgrade overtook (VersionError) before one of ours took.
const MAX_UPGRADES = 3;

/**
 * A lazily opened connection to the object store `storeName` of the database `dbName`.
 *
 * - Opened without a version: the database keeps whatever version and other object stores it
 *   has (another `storeName`, an older rxtrade, another app's). A new database is created at
 *   version 1 with the store.
 * - The store (or its index) missing: the database is reopened at its version + 1 and the
 *   upgrade creates it. Another connection that does not close on `versionchange` (a tab with an
 *   older page, another app's code) blocks that upgrade: the open fails with an error that says
 *   so, with both versions, and the next call tries again.
 * - Another connection upgrading the database (`versionchange`): this one closes (letting its
 *   transactions in flight finish), so the upgrade is not blocked, and the next call reopens.
 *   A call that had the connection just as it closed is run once more on a fresh one.
 */
export class IdbConnection {
  readonly where: string;
  private current: Promise<Connection> | undefined;

  constructor(
    readonly dbName: string,
    readonly storeName: string,
    private readonly shape: StoreShape,
  ) {
    this.where = `indexedDB ${dbName}/${storeName}`;
  }

  /**
   * Runs `use` on the store in a new transaction and returns what it resolves with; once more on
   * a fresh connection when the one it used was closed under it (nothing of a transaction that
   * did not complete was committed, so the second run neither loses nor repeats a write).
   */
  async transaction<T>(mode: IDBTransactionMode, use: (store: IDBObjectStore) => T | PromiseLike<T>, options?: IDBTransactionOptions): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const connection = await this.connection();
      try {
        return await use(connection.db.transaction(this.storeName, mode, options).objectStore(this.storeName));
      } catch (error) {
        if (attempt > 1 || this.usable(connection)) throw error;
      }
    }
  }

  /** Closes the connection (a later call opens it again). */
  async close(): Promise<void> {
    const pending = this.current;
    this.current = undefined;
    const connection = await pending?.catch(() => undefined);
    if (connection === undefined) return;
    connection.closed = true;
    connection.db.close();
  }

  // After a failure: whether the connection still takes transactions. A forced close (storage
  // cleared) may fail a call before its `close` event has said so.
  private usable(connection: Connection): boolean {
    if (connection.closed) return false;
    try {
      connection.db.transaction(this.storeName, "readonly");
      return true;
    } catch {
      connection.drop();
      return false;
    }
  }

  private connection(): Promise<Connection> {
    if (this.current !== undefined) return this.current;
    const pending: Promise<Connection> = oneAtATime(this.dbName, () => this.open()).then(
      (db) => {
        const connection: Connection = {
          db,
          closed: false,
          drop: () => {
            connection.closed = true;
            if (this.current === pending) this.current = undefined;
          },
        };
        db.onversionchange = () => {
          db.close();
          connection.drop();
        };
        // Closed by the browser (storage cleared, Safari now and then): reopen next time.
        db.onclose = () => connection.drop();
        return connection;
      },
      (error: unknown) => {
        if (this.current === pending) this.current = undefined;
        throw error;
      },
    );
    this.current = pending;
    return pending;
  }

  private async open(): Promise<IDBDatabase> {
    for (let upgrades = 0; ; ) {
      const db = await this.request(undefined);
      if (this.ready(db)) return db;
      const version = db.version;
      db.close();
      upgrades++;
      try {
        const upgraded = await this.request(version + 1);
        if (this.ready(upgraded)) return upgraded;
        upgraded.close();
      } catch (error) {
        // Another page upgraded the database between our two opens: look again at its version.
        if ((error as { name?: unknown } | null)?.name !== "VersionError") throw error;
      }
      if (upgrades >= MAX_UPGRADES) {
        throw new Error(`cannot open ${this.where}: the object store was still missing after ${upgrades} upgrades of the database (other pages upgrading it at the same time); reload the page`);
      }
    }
  }

  private ready(db: IDBDatabase): boolean {
    if (!db.objectStoreNames.contains(this.storeName)) return false;
    const complete = this.shape.complete;
    if (complete === undefined) return true;
    // A transaction with no request commits by itself.
    return complete(db.transaction(this.storeName, "readonly").objectStore(this.storeName));
  }

  // One open request: the database at `version` (undefined: as it is), the store created or
  // completed when it upgrades.
  private request(version: number | undefined): Promise<IDBDatabase> {
    const { dbName, storeName, shape, where } = this;
    return new Promise<IDBDatabase>((resolve, reject) => {
      const request = version === undefined ? indexedDB.open(dbName) : indexedDB.open(dbName, version);
      let gaveUp = false;
      request.onupgradeneeded = () => {
        const db = request.result;
        shape.upgrade(db, storeName, db.objectStoreNames.contains(storeName) ? request.transaction?.objectStore(storeName) : undefined);
      };
      request.onsuccess = () => {
        // Blocked, then let through once the other connection closed: the caller has its error.
        if (gaveUp) request.result.close();
        else resolve(request.result);
      };
      request.onerror = () => reject(request.error ?? new Error(`cannot open ${where}`));
      request.onblocked = (event) => {
        gaveUp = true;
        reject(
          new Error(
            `cannot open ${where}: the object store "${storeName}" needs database "${dbName}" upgraded from version ${event.oldVersion} to ${event.newVersion ?? version}, ` +
              `and another connection keeps version ${event.oldVersion} open (another tab or window of this site with an older page, or other code of this origin using "${dbName}"); ` +
              "close the other tabs of this site (or reload them), then try again",
          ),
        );
      };
    });
  }
}
