//! Rich display of tables in notebooks.
//!
//! evcxr shows a value through its `evcxr_display` method; [`Html`] prints `text/html`, so a
//! DataFrame shows as a real table with every row (polars' own text format elides rows).

use polars::prelude::DataFrame;

/// An HTML fragment shown as such in a notebook (and as text elsewhere).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Html(pub String);

impl Html {
    /// evcxr's rich-display hook.
    pub fn evcxr_display(&self) {
        println!(
            "EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT",
            self.0
        );
    }
}

impl std::fmt::Display for Html {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Every row of `df` as an HTML table (floats with at most 4 decimals).
pub fn table(df: &DataFrame) -> Html {
    let mut s = String::from("<table class=\"charlab\">\n<thead><tr>");
    for c in df.columns() {
        s.push_str(&format!("<th>{}</th>", escape(c.name())));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for i in 0..df.height() {
        s.push_str("<tr>");
        for c in df.columns() {
            let cell = match c.get(i) {
                Ok(v) => match v {
                    polars::prelude::AnyValue::Float64(x) => format_float(x),
                    polars::prelude::AnyValue::Float32(x) => format_float(x as f64),
                    polars::prelude::AnyValue::String(t) => t.to_string(),
                    other => other.to_string(),
                },
                Err(_) => String::new(),
            };
            s.push_str(&format!("<td>{}</td>", escape(&cell)));
        }
        s.push_str("</tr>\n");
    }
    s.push_str(&format!(
        "</tbody>\n</table>\n<p><small>{} rows x {} columns</small></p>",
        df.height(),
        df.width()
    ));
    Html(s)
}

fn format_float(x: f64) -> String {
    let t = format!("{x:.4}");
    let t = t.trim_end_matches('0').trim_end_matches('.');
    t.to_string()
}
