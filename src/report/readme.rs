//! The README's copy of Table 1, between two marker lines, rewritten by `charlab report`.

/// Marker lines around the README's copy of Table 1.
pub const README_TABLE1: (&str, &str) = (
    "<!-- table1: charlab report writes it -->",
    "<!-- /table1 -->",
);

/// Table 1 (its Markdown table lines) from the rendered report `text`.
pub fn table1_markdown(text: &str) -> String {
    let mut out = String::new();
    for line in text
        .lines()
        .skip_while(|l| !l.starts_with("| Model |"))
        .take_while(|l| l.starts_with('|'))
    {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `readme` with the lines between its [`README_TABLE1`] markers replaced by `table`; an error
/// naming what is missing when the markers are not there, in order, once each.
pub fn readme_with_table1(readme: &str, table: &str) -> std::result::Result<String, String> {
    let (open, close) = README_TABLE1;
    let (Some(a), Some(b)) = (readme.find(open), readme.find(close)) else {
        return Err(format!(
            "has no `{open}` ... `{close}` markers around Table 1"
        ));
    };
    if b < a || readme.matches(open).count() != 1 || readme.matches(close).count() != 1 {
        return Err(format!("needs `{open}` once, before `{close}` once"));
    }
    let head = &readme[..a + open.len()];
    Ok(format!("{head}\n\n{table}\n{}", &readme[b..]))
}
