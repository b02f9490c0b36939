//! The report's [`Writer`]: Markdown text plus every number written into it, so that a test
//! can check no number was typed by hand.

/// Builds the report text and remembers every number written into it.
#[derive(Default, Debug, Clone)]
pub struct Writer {
    /// The Markdown so far.
    pub text: String,
    /// Every number (as written) that came from a results file or a data set's name.
    pub numbers: Vec<String>,
}

impl Writer {
    /// `v` with `decimals` decimals, recorded.
    pub fn num(&mut self, v: f64, decimals: usize) -> String {
        let s = format!("{v:.decimals$}");
        self.numbers.push(s.clone());
        s
    }

    /// An integer with thousands separators (`30,134`), recorded.
    pub fn int(&mut self, v: usize) -> String {
        let digits = v.to_string();
        let mut s = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                s.push(',');
            }
            s.push(c);
        }
        self.numbers.push(s.clone());
        s
    }

    /// A literal (a name or path) whose digits are not measurements, recorded as is.
    pub fn lit(&mut self, s: &str) -> String {
        self.numbers.push(s.to_string());
        s.to_string()
    }

    /// A class character as a quoted literal (`'1'`): a name, even when it is a digit.
    pub fn char_lit(&mut self, c: char) -> String {
        self.lit(&format!("'{c}'"))
    }

    pub(super) fn line(&mut self, s: &str) {
        self.text.push_str(s);
        self.text.push('\n');
    }

    pub(super) fn para(&mut self, s: &str) {
        self.line(s);
        self.line("");
    }

    pub(super) fn figure(&mut self, stem: &str, caption: &str) {
        self.para(&format!("![{caption}](../figures/{stem}.svg)"));
        self.para(&format!("*{caption}*"));
    }
}

/// Signed difference in points, recorded: `+1.2` or `-0.4`.
pub(super) fn delta(w: &mut Writer, d: f64) -> String {
    let v = w.num(d.abs(), 1);
    format!("{}{v}", if d < 0.0 { "-" } else { "+" })
}
