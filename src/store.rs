//! Kept runs as bytes in the browser's IndexedDB (`www/store.js`): the toy's in-tab run and
//! each image point's fused training state. A kept run is [`run_bytes`]: its snapshot and its
//! losses so far, binary (before, about 2 M characters of base64 text in localStorage, whose
//! few megabytes held two of them). Small records (tab ownership, an unfinished sweep's
//! schedule, finished points' fractions) stay in localStorage ([`crate::browser`]).
//!
//! Every failure (quota exceeded, storage unavailable, a corrupt entry) is an `Err` with the
//! sentence to show; the caller says it and goes on in memory.

use memgen_models::sweep::Resume;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/www/store.js")]
extern "C" {
    #[wasm_bindgen(catch)]
    async fn idb_put(key: &str, bytes: &[u8]) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn idb_get(key: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn idb_delete(key: &str) -> Result<JsValue, JsValue>;
}

/// The first bytes of a kept run (and its format's version).
pub const RUN_MAGIC: &[u8; 8] = b"MGRUN\x001\n";

/// The most losses a kept run may claim (a header's count is checked against the bytes present
/// before anything is allocated).
const MAX_LOSSES: u64 = 1 << 24;

/// A kept run's bytes: [`RUN_MAGIC`], the number of losses (u64 LE), the losses (f32 LE), then
/// the snapshot (a safetensors file the library checks when it resumes).
pub fn run_bytes(snapshot: &[u8], losses: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + 4 * losses.len() + snapshot.len());
    out.extend_from_slice(RUN_MAGIC);
    out.extend_from_slice(&(losses.len() as u64).to_le_bytes());
    out.extend(losses.iter().flat_map(|l| l.to_le_bytes()));
    out.extend_from_slice(snapshot);
    out
}

/// A kept run read back; `Err` names what is wrong with it.
pub fn parse_run(bytes: &[u8]) -> Result<Resume, String> {
    let rest = bytes.strip_prefix(RUN_MAGIC.as_slice()).ok_or("not a kept run of this lab (its first bytes)")?;
    let (n, rest) = rest.split_first_chunk::<8>().ok_or("a kept run cut short in its header")?;
    let n = u64::from_le_bytes(*n);
    if n > MAX_LOSSES || n * 4 > rest.len() as u64 {
        return Err(format!("a kept run claims {n} losses in {} bytes", rest.len()));
    }
    let (l, snapshot) = rest.split_at(n as usize * 4);
    if snapshot.is_empty() {
        return Err("a kept run without its snapshot".into());
    }
    let losses = l.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    Ok(Resume { snapshot: snapshot.to_vec(), losses })
}

/// Keeps `bytes` under `key`.
pub async fn put(key: &str, bytes: &[u8]) -> Result<(), String> {
    idb_put(key, bytes).await.map(|_| ()).map_err(crate::browser::js_err)
}

/// Removes `key` (a failure is of no consequence: a stale run is refused when read).
pub fn delete(key: &str) {
    let key = key.to_string();
    wasm_bindgen_futures::spawn_local(async move {
        let _ = idb_delete(&key).await;
    });
}

/// The run kept under `key`: `Ok(None)` when there is none. Storage that cannot be read, or an
/// entry that is not a kept run (it is removed), is an `Err` with the sentence to show, naming
/// `what` the entry was.
pub async fn read_run(key: &str, what: &str) -> Result<Option<Resume>, String> {
    let v = idb_get(key).await.map_err(|e| crate::browser::storage_unreadable(&crate::browser::js_err(e)))?;
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    let bytes = v.dyn_into::<js_sys::Uint8Array>().map(|a| a.to_vec()).map_err(|_| "not bytes".to_string());
    match bytes.and_then(|b| parse_run(&b)) {
        Ok(r) => Ok(Some(r)),
        Err(why) => {
            delete(key);
            Err(format!("The {what} kept in this browser's storage was unreadable ({why}) and has been removed."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_run_reads_back_and_bad_ones_are_refused_with_the_reason() {
        let bytes = run_bytes(b"snapshot bytes", &[0.5, 0.25, f32::NAN]);
        let r = parse_run(&bytes).unwrap();
        assert_eq!(r.snapshot, b"snapshot bytes");
        assert_eq!(&r.losses[..2], &[0.5, 0.25]);
        assert!(r.losses[2].is_nan());
        let why = |b: &[u8]| parse_run(b).err().unwrap_or_default();
        assert!(why(&bytes[..bytes.len() - 14]).contains("without its snapshot"));
        assert!(why(&bytes[..12]).contains("header"));
        assert!(why(b"{\"snapshot\":\"\"}").contains("first bytes"));
        let mut huge = bytes.clone();
        huge[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(why(&huge).contains("claims"));
        assert_eq!(parse_run(&run_bytes(b"s", &[])).unwrap().losses, Vec::<f32>::new());
    }
}
