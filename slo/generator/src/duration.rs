//! Prometheus-style durations (`5m`, `1h`, `30d`) as whole seconds.

use anyhow::{bail, Context, Result};

/// Parses a single-unit duration such as `30s`, `5m`, `6h`, `3d` or `1w` into seconds.
pub fn parse(text: &str) -> Result<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).with_context(|| format!("duration {text:?} has no unit"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().with_context(|| format!("duration {text:?} does not start with a number"))?;
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => bail!("duration {text:?}: unknown unit {unit:?} (use s, m, h, d or w)"),
    };
    if number == 0 {
        bail!("duration {text:?} is zero");
    }
    Ok(number * factor)
}

/// Formats seconds with the largest unit that divides them exactly (`7200` → `2h`).
pub fn format(seconds: u64) -> String {
    for (unit, factor) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if seconds >= factor && seconds % factor == 0 {
            return format!("{}{unit}", seconds / factor);
        }
    }
    format!("{seconds}s")
}

/// Multiplies a duration by `scale`, rounding to whole seconds and never below one second.
pub fn scale(seconds: u64, scale: f64) -> u64 {
    ((seconds as f64 * scale).round() as u64).max(1)
}

/// Parses a scale factor given as a decimal (`0.05`) or a fraction (`1/30`).
pub fn parse_scale(text: &str) -> Result<f64> {
    let value = match text.split_once('/') {
        Some((num, den)) => {
            let num: f64 = num.trim().parse().context("scale numerator")?;
            let den: f64 = den.trim().parse().context("scale denominator")?;
            num / den
        }
        None => text.trim().parse().context("scale must be a number or a fraction")?,
    };
    if !(value.is_finite() && value > 0.0 && value <= 1.0) {
        bail!("scale {text:?} must be in (0, 1]");
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse("5m").unwrap(), 300);
        assert_eq!(parse("1h").unwrap(), 3_600);
        assert_eq!(parse("30d").unwrap(), 2_592_000);
        assert!(parse("5").is_err());
        assert!(parse("m").is_err());
        assert!(parse("0m").is_err());
        assert!(parse("5y").is_err());
    }

    #[test]
    fn formats_with_largest_exact_unit() {
        assert_eq!(format(300), "5m");
        assert_eq!(format(7_200), "2h");
        assert_eq!(format(259_200), "3d");
        assert_eq!(format(90), "90s");
        assert_eq!(format(5_400), "90m");
    }

    #[test]
    fn scales_and_rounds() {
        assert_eq!(scale(300, 1.0 / 30.0), 10);
        assert_eq!(scale(3_600, 1.0 / 30.0), 120);
        assert_eq!(scale(10, 0.01), 1);
        assert_eq!(parse_scale("1/30").unwrap(), 1.0 / 30.0);
        assert_eq!(parse_scale("1").unwrap(), 1.0);
        assert!(parse_scale("2").is_err());
        assert!(parse_scale("0").is_err());
    }
}
