//! Output helpers shared by commands: tables that fit a terminal, CSV, JSON.

use std::io::Write;

/// Output format of listing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// JSON for programs (stable field names).
    Json,
    /// CSV for spreadsheets and SIEMs.
    Csv,
}

/// Prints rows as aligned columns, shortening cells so a line stays readable.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    const MAX_CELL: usize = 48;
    let clip = |s: &str| -> String {
        if s.chars().count() > MAX_CELL {
            let mut c: String = s.chars().take(MAX_CELL - 1).collect();
            c.push('…');
            c
        } else {
            s.to_string()
        }
    };
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| clip(c)).collect()).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    let line = |cells: Vec<String>| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let _ = writeln!(out, "{}", line(headers.iter().map(|h| h.to_uppercase()).collect()));
    for r in rows {
        let _ = writeln!(out, "{}", line(r));
    }
}

/// Quotes one CSV field (RFC 4180), and defuses spreadsheet formulas that an
/// attacker could plant in a user agent or path.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Prints rows as CSV.
pub fn csv(headers: &[&str], rows: &[Vec<String>]) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", headers.join(","));
    for r in rows {
        let _ = writeln!(out, "{}", r.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","));
    }
}

/// Prints a value as pretty JSON.
pub fn json<T: serde::Serialize>(v: &T) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_defuses_formulas_and_quotes() {
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
