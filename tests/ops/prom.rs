//! A small parser of the Prometheus text exposition, enough to assert exact series.

use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Every sample line of the exposition.
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).map(parse_line).collect()
}

fn parse_line(line: &str) -> Sample {
    let (name_end, rest) = match line.find(['{', ' ']) {
        Some(i) => (i, &line[i..]),
        None => panic!("not a sample line: {line}"),
    };
    let name = line[..name_end].to_owned();
    let mut labels = BTreeMap::new();
    let mut rest = rest;
    if let Some(body) = rest.strip_prefix('{') {
        // Quote-aware: label values may contain `{`, `}`, `,` and escaped quotes.
        let mut chars = body.char_indices().peekable();
        let mut end = None;
        let mut key = String::new();
        while let Some((i, c)) = chars.next() {
            match c {
                '}' => {
                    end = Some(i);
                    break;
                }
                ',' | ' ' => {}
                '=' => {
                    assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "label value quoted in {line}");
                    let mut value = String::new();
                    while let Some((_, c)) = chars.next() {
                        match c {
                            '\\' => match chars.next().map(|(_, c)| c) {
                                Some('n') => value.push('\n'),
                                Some(other) => value.push(other),
                                None => break,
                            },
                            '"' => break,
                            other => value.push(other),
                        }
                    }
                    labels.insert(std::mem::take(&mut key), value);
                }
                other => key.push(other),
            }
        }
        let end = end.unwrap_or_else(|| panic!("unterminated labels in {line}"));
        rest = &body[end + 1..];
    }
    let value = rest.split_whitespace().next().unwrap_or_else(|| panic!("no value in {line}"));
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
    };
    Sample { name, labels, value }
}

/// `# TYPE` lines: family name → type.
pub fn families(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(n, t)| (n.to_owned(), t.trim().to_owned()))
        .collect()
}

/// The value of the one series with exactly these labels.
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let found: Vec<f64> = samples.iter().filter(|s| s.name == name && s.labels == want).map(|s| s.value).collect();
    assert!(found.len() <= 1, "{name}{want:?} appears {} times", found.len());
    found.first().copied()
}

/// Number of series (sample lines) in the exposition.
pub fn series_count(text: &str) -> usize {
    parse(text).len()
}

#[test]
fn parses_labels_with_braces_and_escapes() {
    let s = parse("# HELP x y\nm{a=\"/t/{id}\",b=\"q\\\"x,}\"} 3\nn 1.5\nh_bucket{le=\"+Inf\"} 2\n");
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].labels["a"], "/t/{id}");
    assert_eq!(s[0].labels["b"], "q\"x,}");
    assert_eq!(s[0].value, 3.0);
    assert_eq!(value(&s, "n", &[]), Some(1.5));
    assert_eq!(value(&s, "h_bucket", &[("le", "+Inf")]), Some(2.0));
}
