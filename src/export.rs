//! Exports: a figure as PNG (its canvas) or SVG (where plotters draws it), a table as CSV. One
//! small row of buttons ([`ExportButtons`]) under each figure and table; the file is handed to
//! the browser as a download.

use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// A CSV document: `header` then `rows`, fields quoted where they hold a comma, quote or line
/// break (RFC 4180).
pub fn csv(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let field = |f: &str| {
        if f.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", f.replace('"', "\"\""))
        } else {
            f.to_string()
        }
    };
    let mut out = header.iter().map(|h| field(h)).collect::<Vec<_>>().join(",");
    out.push('\n');
    for r in rows {
        out.push_str(&r.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// Hands `url` to the browser as a download named `name`.
fn download(url: &str, name: &str) -> Result<(), String> {
    let doc = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = doc.create_element("a").map_err(|_| "no anchor")?.dyn_into().map_err(|_| "no anchor")?;
    a.set_href(url);
    a.set_download(name);
    a.set_attribute("style", "display:none").ok();
    let body = doc.body().ok_or("no body")?;
    body.append_child(&a).map_err(|_| "cannot append")?;
    a.click();
    a.remove();
    Ok(())
}

/// Saves `text` as a file (`mime`) named `name`.
pub fn save_text(name: &str, mime: &str, text: &str) -> Result<(), String> {
    let url = crate::browser::object_url(text.as_bytes(), mime)?;
    let r = download(&url, name);
    // The download has taken the bytes; a second later the URL can go.
    let u = url.clone();
    leptos::task::spawn_local(async move {
        crate::browser::sleep_ms(1000).await;
        let _ = web_sys::Url::revoke_object_url(&u);
    });
    r
}

/// Saves the canvas as a PNG named `name`.
pub fn save_png(canvas: &web_sys::HtmlCanvasElement, name: &str) -> Result<(), String> {
    let url = canvas.to_data_url_with_type("image/png").map_err(|_| "the canvas cannot be read")?;
    download(&url, name)
}

/// The buttons under a figure or table: PNG of `canvas`, SVG of `svg()`, CSV of `csv()`, each
/// where given. `name` is the files' stem (`fractions` → `fractions.png`, `fractions.csv`).
#[component]
pub fn ExportButtons(
    name: &'static str,
    #[prop(optional)] canvas: Option<NodeRef<Canvas>>,
    #[prop(optional, into)] svg: Option<Callback<(), Option<String>>>,
    #[prop(optional, into)] csv: Option<Callback<(), Option<String>>>,
) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let report = move |r: Result<(), String>| error.set(r.err());
    view! {
        <span class="export" data-testid=format!("export-{name}")>
            {canvas.map(|c| view! {
                <button class="small" data-testid=format!("export-{name}-png") title="Save this figure as a PNG image"
                    on:click=move |_| report(c.get_untracked().ok_or_else(|| "the figure is not drawn yet".to_string()).and_then(|c| save_png(&c, &format!("{name}.png"))))>
                    "PNG"
                </button>
            })}
            {svg.map(|f| view! {
                <button class="small" data-testid=format!("export-{name}-svg") title="Save this figure as an SVG drawing"
                    on:click=move |_| report(f.run(()).ok_or_else(|| "nothing is drawn yet".to_string()).and_then(|s| save_text(&format!("{name}.svg"), "image/svg+xml", &s)))>
                    "SVG"
                </button>
            })}
            {csv.map(|f| view! {
                <button class="small" data-testid=format!("export-{name}-csv") title="Save this table as CSV"
                    on:click=move |_| report(f.run(()).ok_or_else(|| "there is no table yet".to_string()).and_then(|s| save_text(&format!("{name}.csv"), "text/csv", &s)))>
                    "CSV"
                </button>
            })}
            {move || error.get().map(|e| view! { <span class="muted">{format!("Not saved: {e}.")}</span> })}
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let s = csv(&["k", "note"], [vec!["2".into(), "a, b".into()], vec!["4".into(), "say \"hi\"".into()], vec!["8".into(), "plain".into()]]);
        assert_eq!(s, "k,note\n2,\"a, b\"\n4,\"say \"\"hi\"\"\"\n8,plain\n");
        assert_eq!(csv(&["a"], Vec::<Vec<String>>::new()), "a\n");
    }
}
