//! Browser plumbing, in one place for every panel: fetch, chosen files, browser storage,
//! base64, downloadable files and timers (`setTimeout`, `performance.now`, in the page or a worker). Panels hold experiment state; this module talks to the browser.

use base64::Engine as _;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

// Minimal bindings to fetch, the body stream reader and File (no extra web-sys features).
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    pub(crate) fn js_fetch(url: &str) -> js_sys::Promise;

    pub(crate) type JsResponse;
    #[wasm_bindgen(method, getter)]
    pub(crate) fn ok(this: &JsResponse) -> bool;
    #[wasm_bindgen(method, getter)]
    pub(crate) fn status(this: &JsResponse) -> u16;
    #[wasm_bindgen(method, getter)]
    pub(crate) fn body(this: &JsResponse) -> Option<JsStream>;
    #[wasm_bindgen(method, getter)]
    pub(crate) fn headers(this: &JsResponse) -> JsHeaders;
    #[wasm_bindgen(method, js_name = arrayBuffer)]
    pub(crate) fn array_buffer(this: &JsResponse) -> js_sys::Promise;

    pub(crate) type JsHeaders;
    #[wasm_bindgen(method)]
    pub(crate) fn get(this: &JsHeaders, name: &str) -> Option<String>;

    pub(crate) type JsStream;
    #[wasm_bindgen(method, js_name = getReader)]
    pub(crate) fn get_reader(this: &JsStream) -> JsReader;

    pub(crate) type JsReader;
    #[wasm_bindgen(method)]
    pub(crate) fn read(this: &JsReader) -> js_sys::Promise;
    #[wasm_bindgen(method)]
    pub(crate) fn cancel(this: &JsReader) -> js_sys::Promise;

    /// A `File` of an `<input type="file">`.
    pub(crate) type JsFile;
    #[wasm_bindgen(method, getter)]
    pub(crate) fn name(this: &JsFile) -> String;
    #[wasm_bindgen(method, getter)]
    pub(crate) fn size(this: &JsFile) -> f64;
    #[wasm_bindgen(method, js_name = arrayBuffer)]
    pub(crate) fn file_array_buffer(this: &JsFile) -> js_sys::Promise;
}

pub(crate) fn js_err(e: JsValue) -> String {
    e.as_string().or_else(|| js_sys::Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string())).unwrap_or_else(|| format!("{e:?}"))
}

pub(crate) async fn fetch_response(url: &str) -> Result<JsResponse, String> {
    let resp = JsFuture::from(js_fetch(url)).await.map_err(|e| format!("could not fetch {url}: {}", js_err(e)))?;
    let resp: JsResponse = resp.unchecked_into();
    if !resp.ok() {
        return Err(format!("could not fetch {url}: HTTP {}", resp.status()));
    }
    Ok(resp)
}

/// The files chosen in the `<input type="file">` that fired `ev`.
pub(crate) fn input_files(ev: &leptos::ev::Event) -> Vec<JsFile> {
    let Some(target) = ev.target() else { return Vec::new() };
    let files = js_sys::Reflect::get(&target, &"files".into()).unwrap_or(JsValue::NULL);
    let count = js_sys::Reflect::get(&files, &"length".into()).ok().and_then(|v| v.as_f64()).unwrap_or(0.0) as u32;
    (0..count)
        .filter_map(|i| js_sys::Reflect::get(&files, &JsValue::from(i)).ok())
        .filter(|f| !f.is_undefined() && !f.is_null())
        .map(|f| f.unchecked_into())
        .collect()
}

/// The bytes of a chosen file.
pub(crate) async fn read_file(file: &JsFile) -> Result<Vec<u8>, String> {
    let buf = JsFuture::from(file.file_array_buffer()).await.map_err(|e| format!("{} could not be read: {}", file.name(), js_err(e)))?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

/// The whole body of `url` (small files: checkpoints, manifests).
#[cfg(feature = "engine")]
pub(crate) async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let resp = fetch_response(url).await?;
    let buf = JsFuture::from(resp.array_buffer()).await.map_err(|e| format!("could not read {url}: {}", js_err(e)))?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = localStorage, js_name = getItem, catch)]
    fn local_get(key: &str) -> Result<Option<String>, JsValue>;
    #[wasm_bindgen(js_namespace = localStorage, js_name = setItem, catch)]
    fn local_set(key: &str, value: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(js_namespace = localStorage, js_name = removeItem, catch)]
    fn local_remove(key: &str) -> Result<(), JsValue>;
}

/// The value kept in browser storage under `key` (`Ok(None)` when there is none).
pub fn storage_get(key: &str) -> Result<Option<String>, String> {
    local_get(key).map_err(js_err)
}

/// Keeps `value` under `key` in browser storage (an error when storage is full or unavailable).
pub fn storage_set(key: &str, value: &str) -> Result<(), String> {
    local_set(key, value).map_err(js_err)
}

/// The entry kept under `key`, read by `parse`: `Ok(None)` when there is none. Storage that
/// cannot be read, or an entry that `parse` refuses (corrupt; it is removed), is an `Err` with
/// the sentence to show, naming `what` the entry was; the caller goes on in memory.
pub fn read_stored<T>(key: &str, what: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<Option<T>, String> {
    match storage_get(key) {
        Ok(None) => Ok(None),
        Ok(Some(v)) => match parse(&v) {
            Some(t) => Ok(Some(t)),
            None => {
                let _ = storage_remove(key);
                Err(format!("The {what} kept in this browser's storage was unreadable and has been removed."))
            }
        },
        Err(e) => Err(storage_unreadable(&e)),
    }
}

/// What the page says when browser storage (localStorage or IndexedDB) cannot be read.
pub fn storage_unreadable(why: &str) -> String {
    format!("This browser's storage cannot be read ({why}); runs are kept in memory only.")
}

/// Removes `key` from browser storage.
pub fn storage_remove(key: &str) -> Result<(), String> {
    local_remove(key).map_err(js_err)
}

/// Standard base64 of `bytes` (the bundle's image encoding).
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Bytes of standard base64 text (`None` when it is not base64).
pub fn unbase64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// An object URL holding `bytes` (for a download link); the page keeps it while it shows it.
pub fn object_url(bytes: &[u8], mime: &str) -> Result<String, String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts).map_err(js_err)?;
    web_sys::Url::create_object_url_with_blob(&blob).map_err(js_err)
}

/// Resolves after the browser has had a chance to run other work (a `setTimeout(0)`).
pub async fn yield_now() {
    sleep_ms(0).await
}

/// Resolves after `ms` milliseconds (`setTimeout` of the page or of a worker).
pub async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        } else if let Ok(w) = js_sys::global().dyn_into::<web_sys::WorkerGlobalScope>() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Milliseconds since navigation start (or since a worker started).
pub fn now_ms() -> f64 {
    match web_sys::window() {
        Some(w) => w.performance().map(|p| p.now()).unwrap_or(0.0),
        None => js_sys::global().dyn_into::<web_sys::WorkerGlobalScope>().ok().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0),
    }
}
