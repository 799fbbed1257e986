//! The results: one aligned plain-text table and the same figures as JSON.
//!
//! Targets from issue 4 are reported (met/missed) but never turn into a failing exit
//! status: timings depend on the machine. Functional failures (errors, wrong volumes,
//! missed streams) do, and are collected in [`Report::failures`].

use crate::stats::{fmt_us, Summary};
use serde_json::{json, Map, Value};

/// One table line.
struct Row {
    section: &'static str,
    what: String,
    n: String,
    median: String,
    p99: String,
    max: String,
    target: String,
    /// Free text after the target: what a short figure is made of.
    note: String,
}

#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
    json: Map<String, Value>,
    pub failures: Vec<String>,
}

/// A target and whether it was met, e.g. `("p50 <= 200 us", true)`.
pub type Target = Option<(String, bool)>;

fn target_text(t: &Target) -> String {
    match t {
        None => String::new(),
        Some((what, true)) => format!("met ({what})"),
        Some((what, false)) => format!("MISSED ({what})"),
    }
}

impl Report {
    fn entry(&mut self, section: &'static str) -> &mut Map<String, Value> {
        let v = self
            .json
            .entry(section)
            .or_insert_with(|| Value::Object(Map::new()));
        v.as_object_mut().expect("sections are objects")
    }

    /// A latency row: count, median, p99, max.
    pub fn latency(&mut self, section: &'static str, what: &str, s: &Summary, target: Target) {
        let mut v = serde_json::to_value(s).expect("a summary serializes");
        if let Some((t, met)) = &target {
            v["target"] = json!({ "what": t, "met": met });
        }
        self.entry(section).insert(what.to_owned(), v);
        self.rows.push(Row {
            section,
            what: what.to_owned(),
            n: s.count.to_string(),
            median: fmt_us(s.median_us),
            p99: fmt_us(s.p99_us),
            max: fmt_us(s.max_us),
            target: target_text(&target),
            note: String::new(),
        });
    }

    /// A single figure: `text` goes to the table's median column, `value` to JSON.
    pub fn value(
        &mut self,
        section: &'static str,
        what: &str,
        text: String,
        value: Value,
        target: Target,
    ) {
        let v = match &target {
            Some((t, met)) => json!({ "value": value, "target": { "what": t, "met": met } }),
            None => value,
        };
        self.entry(section).insert(what.to_owned(), v);
        self.rows.push(Row {
            section,
            what: what.to_owned(),
            n: String::new(),
            median: text,
            p99: String::new(),
            max: String::new(),
            target: target_text(&target),
            note: String::new(),
        });
    }

    /// Adds an explanation to the last row (kept out of the figure columns so they stay
    /// narrow and aligned).
    pub fn note(&mut self, text: String) {
        if let Some(r) = self.rows.last_mut() {
            r.note = text;
        }
    }

    /// Records a functional failure: it goes to the table, the JSON and the exit status.
    pub fn fail(&mut self, section: &'static str, msg: String) {
        eprintln!("audio-daemon-bench: {section}: FAILED: {msg}");
        self.failures.push(format!("{section}: {msg}"));
    }

    /// Free-form facts about the run (machine, mode), JSON only.
    pub fn meta(&mut self, key: &str, value: Value) {
        self.entry("run").insert(key.to_owned(), value);
    }

    pub fn table(&self) -> String {
        let head = Row {
            section: "section",
            what: "measurement".into(),
            n: "n".into(),
            median: "median".into(),
            p99: "p99".into(),
            max: "max".into(),
            target: "target (issue 4)".into(),
            note: "note".into(),
        };
        let all: Vec<&Row> = std::iter::once(&head).chain(&self.rows).collect();
        let w = |f: fn(&Row) -> usize| all.iter().map(|r| f(r)).max().unwrap_or(0);
        let ws = [
            w(|r| r.section.len()),
            w(|r| r.what.chars().count()),
            w(|r| r.n.len()),
            w(|r| r.median.chars().count()),
            w(|r| r.p99.len()),
            w(|r| r.max.len()),
            w(|r| r.target.len()),
        ];
        let mut out = String::new();
        let mut last = "";
        for (i, r) in all.iter().enumerate() {
            // A blank section cell when it repeats keeps the table readable.
            let section = if i > 0 && r.section == last {
                ""
            } else {
                r.section
            };
            last = r.section;
            let line = format!(
                "{:<a$}  {:<b$}  {:>c$}  {:>d$}  {:>e$}  {:>f$}  {:<g$}  {}",
                section,
                r.what,
                r.n,
                r.median,
                r.p99,
                r.max,
                r.target,
                r.note,
                a = ws[0],
                b = ws[1],
                c = ws[2],
                d = ws[3],
                e = ws[4],
                f = ws[5],
                g = ws[6],
            );
            out.push_str(line.trim_end());
            out.push('\n');
            if i == 0 {
                let total = ws.iter().sum::<usize>() + 2 * 7 + "note".len();
                out.push_str(&"-".repeat(total));
                out.push('\n');
            }
        }
        if !self.failures.is_empty() {
            out.push_str("\nFUNCTIONAL FAILURES:\n");
            for f in &self.failures {
                out.push_str(&format!("  {f}\n"));
            }
        }
        out
    }

    pub fn to_json(&self) -> Value {
        let mut all = self.json.clone();
        all.insert("failures".into(), json!(self.failures));
        Value::Object(all)
    }
}
