//! Durations as people write them on a command line: `30s`, `15m`, `6h`, `1d`, or plain
//! seconds.

/// Seconds in `text`; an error message for clap otherwise.
pub fn parse_secs(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s, 15m, 6h or 1d"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => return Err(format!("unknown unit {other:?}: use s, m, h or d")),
    };
    match number.checked_mul(scale) {
        Some(0) | None => Err(format!("{text:?} must be at least one second")),
        Some(secs) => Ok(secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_usual_forms() {
        assert_eq!(parse_secs("90"), Ok(90));
        assert_eq!(parse_secs("30s"), Ok(30));
        assert_eq!(parse_secs("15m"), Ok(900));
        assert_eq!(parse_secs("24h"), Ok(86_400));
        assert_eq!(parse_secs("7d"), Ok(604_800));
        assert!(parse_secs("0s").is_err());
        assert!(parse_secs("5w").is_err());
        assert!(parse_secs("soon").is_err());
        assert!(parse_secs("").is_err());
    }
}
