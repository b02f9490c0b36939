//! The Markdown subset the report uses, as HTML: the standalone `report.html` (figures inlined)
//! and fragments for notebooks.

use crate::paths;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Inline Markdown of the report (`code`, *emphasis*) as HTML.
fn inline(s: &str) -> String {
    let mut out = String::new();
    let mut code = false;
    for (i, part) in escape(s).split('`').enumerate() {
        if i > 0 {
            out.push_str(if code { "</code>" } else { "<code>" });
            code = !code;
        }
        if code {
            out.push_str(part);
        } else {
            let mut em = false;
            for (j, p) in part.split('*').enumerate() {
                if j > 0 {
                    out.push_str(if em { "</em>" } else { "<em>" });
                    em = !em;
                }
                out.push_str(p);
            }
            if em {
                out.push_str("</em>");
            }
        }
    }
    if code {
        out.push_str("</code>");
    }
    out
}

/// The subset of Markdown the report uses (headings, paragraphs, lists, pipe tables, images)
/// as a standalone HTML page; figures are linked (`../figures/*.svg`), so open it from the
/// `report/` folder of the repository.
pub fn to_html(md: &str) -> String {
    let body = body_html(md, true);
    page(&body)
}

/// The HTML of a Markdown fragment of the report without its figures (a notebook shows them
/// inline), for showing a section's prose in a notebook.
pub fn markdown_fragment_html(md: &str) -> String {
    body_html(md, false)
}

fn body_html(md: &str, figures: bool) -> String {
    let mut body = String::new();
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut list = false;
    let flush_table = |table: &mut Vec<Vec<String>>, body: &mut String| {
        if table.is_empty() {
            return;
        }
        body.push_str("<table>\n");
        for (i, row) in table.iter().enumerate() {
            if i == 1 {
                continue; // the |---| separator
            }
            let tag = if i == 0 { "th" } else { "td" };
            body.push_str("<tr>");
            for c in row {
                body.push_str(&format!("<{tag}>{}</{tag}>", inline(c)));
            }
            body.push_str("</tr>\n");
        }
        body.push_str("</table>\n");
        table.clear();
    };
    for line in md.lines() {
        let l = line.trim();
        if l.starts_with('|') {
            table.push(
                l.trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().to_string())
                    .collect(),
            );
            continue;
        }
        flush_table(&mut table, &mut body);
        if let Some(item) = l.strip_prefix("- ") {
            if !list {
                body.push_str("<ul>\n");
                list = true;
            }
            body.push_str(&format!("<li>{}</li>\n", inline(item)));
            continue;
        }
        if list {
            body.push_str("</ul>\n");
            list = false;
        }
        if l.is_empty() {
            continue;
        }
        let level = l.chars().take_while(|&c| c == '#').count();
        if level > 0 {
            body.push_str(&format!(
                "<h{level}>{}</h{level}>\n",
                inline(l[level..].trim())
            ));
        } else if let Some(rest) = l.strip_prefix("![") {
            if !figures {
                continue;
            }
            let (alt, src) = rest.split_once("](").unwrap_or((rest, ""));
            let src = src.trim_end_matches(')');
            // Inline the SVG, so that the page is one self-contained file (mailable, movable);
            // a figure that is not there stays a link.
            let file = src
                .strip_prefix("../figures/")
                .map(|name| paths::figures_dir().join(name));
            match file.and_then(|f| std::fs::read_to_string(f).ok()) {
                Some(svg) => {
                    let start = svg.find("<svg").unwrap_or(0);
                    body.push_str(&format!(
                        "<figure role=\"img\" aria-label=\"{}\" data-src=\"{}\">{}</figure>\n",
                        escape(alt),
                        escape(src),
                        svg[start..].trim_end()
                    ));
                }
                None => body.push_str(&format!(
                    "<figure><img src=\"{}\" alt=\"{}\"></figure>\n",
                    escape(src),
                    escape(alt)
                )),
            }
        } else {
            body.push_str(&format!("<p>{}</p>\n", inline(l)));
        }
    }
    flush_table(&mut table, &mut body);
    if list {
        body.push_str("</ul>\n");
    }
    body
}

fn page(body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Handwritten character classification, reproduced</title>\n<style>\n\
         body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; line-height: 1.5; \
         padding: 0 1em; }}\n\
         img, figure svg {{ max-width: 100%; height: auto; }}\nfigure {{ margin: 1em 0 0 0; }}\n\
         table {{ border-collapse: collapse; margin: 1em 0; }}\n\
         th, td {{ border: 1px solid #bbb; padding: 0.3em 0.8em; text-align: right; }}\n\
         th:first-child, td:first-child {{ text-align: left; }}\n\
         code {{ background: #f3f3f3; padding: 0 0.2em; }}\n</style>\n</head>\n<body>\n\
         {body}</body>\n</html>\n"
    )
}

/// Numbers in `text` that did not come from the results: every run of digits (with `.` and
/// `,` inside) outside headings, figure links and Table 1's header, that is not part of a
/// recorded number. Empty when the report is honest.
pub fn unrecorded_numbers(text: &str, recorded: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('#') || l.starts_with("![") || l.starts_with("|---") {
            continue;
        }
        // Remove every recorded number, longest first, then look for digits left.
        let mut rest = l.to_string();
        let mut sorted: Vec<&String> = recorded.iter().collect();
        sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for r in sorted {
            if !r.is_empty() {
                rest = rest.replace(r.as_str(), " ");
            }
        }
        let mut token = String::new();
        for c in rest.chars().chain(std::iter::once(' ')) {
            if c.is_ascii_digit() || (!token.is_empty() && (c == '.' || c == ',')) {
                token.push(c);
            } else if !token.is_empty() {
                if token.chars().any(|c| c.is_ascii_digit()) {
                    out.push(token.clone());
                }
                token.clear();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Writer;

    #[test]
    fn stray_numbers_are_found_and_recorded_ones_are_not() {
        let recorded = vec!["12.5".to_string(), "3,136".to_string()];
        let text = "# 4.1 A heading with 7\n\
                    Accuracy 12.5% over 3,136 pixels, and 42 more.\n\
                    ![caption](../figures/05-confusion-matrix.svg)\n\
                    |---|---|\n";
        assert_eq!(unrecorded_numbers(text, &recorded), vec!["42".to_string()]);
    }

    #[test]
    fn writer_records_what_it_formats() {
        let mut w = Writer::default();
        assert_eq!(w.int(30134), "30,134");
        assert_eq!(w.int(999), "999");
        assert_eq!(w.num(0.23634, 4), "0.2363");
        assert_eq!(w.numbers, vec!["30,134", "999", "0.2363"]);
    }

    #[test]
    fn html_renders_the_markdown_subset() {
        let html = to_html(
            "# Title\n\nSome `code` and *emphasis* <b>.\n\n- one\n- two\n\n\
             | a | b |\n|---|---|\n| 1 | 2 |\n\n![alt](../figures/x.svg)\n",
        );
        assert!(html.contains("<h1>Title</h1>"));
        assert!(html.contains("<code>code</code> and <em>emphasis</em> &lt;b&gt;."));
        assert!(html.contains("<ul>\n<li>one</li>\n<li>two</li>\n</ul>"));
        assert!(html.contains("<tr><th>a</th><th>b</th></tr>\n<tr><td>1</td><td>2</td></tr>"));
        assert!(html.contains("<img src=\"../figures/x.svg\" alt=\"alt\">"));
    }
}
