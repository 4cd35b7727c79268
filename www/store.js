// Binary storage for the lab's kept runs (src/store.rs): one IndexedDB object store of
// Uint8Array values. Browser storage's text (localStorage) held a run as about 2 M characters of
// base64; here a run is its bytes. Every call rejects with the browser's error (quota exceeded,
// storage unavailable), which the page says and then goes on in memory.

const DB = 'memgen-lab';
const STORE = 'runs';
let db = null;

function opened() {
  db ??= new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.onblocked = () => reject(new Error('the lab\'s storage is held by another version of the page'));
  }).catch((e) => {
    db = null;
    throw e;
  });
  return db;
}

function done(tx, value) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(value());
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('the storage transaction was aborted'));
  });
}

export async function idb_put(key, bytes) {
  // The bytes are a view into the wasm memory: copied before anything waits.
  const copy = bytes.slice();
  const tx = (await opened()).transaction(STORE, 'readwrite');
  tx.objectStore(STORE).put(copy, key);
  return done(tx, () => undefined);
}

export async function idb_get(key) {
  const tx = (await opened()).transaction(STORE, 'readonly');
  const r = tx.objectStore(STORE).get(key);
  return done(tx, () => r.result);
}

export async function idb_delete(key) {
  const tx = (await opened()).transaction(STORE, 'readwrite');
  tx.objectStore(STORE).delete(key);
  return done(tx, () => undefined);
}
