//! Reading a function's environment: one place that trims, treats empty as
//! unset, and names the variable that is missing or out of range.

use crate::error::{Error, Result};

/// Variables read through a lookup (the process environment, or a map in tests).
pub struct Vars<F: Fn(&str) -> Option<String>>(pub F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    /// The trimmed value; `None` when unset or blank.
    pub fn opt(&self, k: &str) -> Option<String> {
        (self.0)(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    /// The value, or an error naming the variable.
    pub fn need(&self, k: &str) -> Result<String> {
        self.opt(k)
            .ok_or_else(|| Error::Config(format!("environment variable {k} is not set")))
    }

    /// A number in `range`, `default` when unset; an error saying what is
    /// expected (`what`, e.g. "a number of minutes from 1 to 1440") otherwise.
    pub fn number<T>(&self, k: &str, default: T, range: std::ops::RangeInclusive<T>, what: &str) -> Result<T>
    where
        T: std::str::FromStr + PartialOrd,
    {
        match self.opt(k) {
            None => Ok(default),
            Some(v) => v
                .parse::<T>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| Error::Config(format!("{k}={v:?} is not {what}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_are_unset_and_bad_numbers_name_the_variable() {
        let vars = Vars(|k: &str| match k {
            "A" => Some("  x ".to_string()),
            "BLANK" => Some("  ".to_string()),
            "N" => Some("99999".to_string()),
            _ => None,
        });
        assert_eq!(vars.opt("A").as_deref(), Some("x"));
        assert_eq!(vars.opt("BLANK"), None);
        assert!(vars.need("MISSING").unwrap_err().to_string().contains("MISSING"));
        assert_eq!(vars.number("UNSET", 7u64, 1..=10, "1 to 10").unwrap(), 7);
        let e = vars
            .number("N", 7u64, 1..=10, "a number from 1 to 10")
            .unwrap_err()
            .to_string();
        assert!(e.contains("N=\"99999\"") && e.contains("1 to 10"), "{e}");
    }
}
