//! Positions inside a board column as fractional keys: strings over an ordered
//! alphabet, compared byte-wise. A key strictly between any two keys always exists,
//! so moving a task writes one row and never renumbers the column.
//! (PostgreSQL stores them with `collate "C"` to keep byte order.)

const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE: usize = DIGITS.len();

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position(String);

fn digit(c: u8) -> usize {
    DIGITS.iter().position(|&d| d == c).unwrap_or(0)
}

impl Position {
    /// Accepts a stored key (trusted) or a client-sent one (validated).
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty() && raw.len() <= 64 && raw.bytes().all(|b| DIGITS.contains(&b)) && !raw.ends_with('0');
        ok.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key strictly between `before` and `after` (either may be absent: the start or
    /// the end of the column).
    pub fn between(before: Option<&Position>, after: Option<&Position>) -> Position {
        let a = before.map(|p| p.0.as_bytes()).unwrap_or(b"");
        let b = after.map(|p| p.0.as_bytes());
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            let da = a.get(i).map(|&c| digit(c)).unwrap_or(0);
            let db = match b {
                Some(b) => b.get(i).map(|&c| digit(c)).unwrap_or(BASE),
                None => BASE,
            };
            if db > da + 1 {
                out.push(DIGITS[(da + db) / 2]);
                break;
            }
            out.push(DIGITS[da]);
            // Once the prefix is strictly below `b`, the upper bound is open.
            if db == da + 1 {
                let rest = &a[(i + 1).min(a.len())..];
                let mut j = 0;
                loop {
                    let d = rest.get(j).map(|&c| digit(c)).unwrap_or(0);
                    if d + 1 < BASE {
                        out.push(DIGITS[(d + BASE).div_ceil(2).max(d + 1)]);
                        break;
                    }
                    out.push(DIGITS[d]);
                    j += 1;
                }
                break;
            }
            i += 1;
        }
        Position(String::from_utf8(out).expect("ascii digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Position {
        Position(s.into())
    }

    #[test]
    fn between_is_strictly_between() {
        let cases = [
            (None, None),
            (Some("V"), None),
            (None, Some("V")),
            (Some("V"), Some("W")),
            (Some("Vz"), Some("W")),
            (Some("1"), Some("2")),
            (Some("zzz"), None),
            (None, Some("01")),
        ];
        for (a, b) in cases {
            let (pa, pb) = (a.map(p), b.map(p));
            let m = Position::between(pa.as_ref(), pb.as_ref());
            if let Some(pa) = &pa {
                assert!(&m > pa, "{m:?} > {pa:?}");
            }
            if let Some(pb) = &pb {
                assert!(&m < pb, "{m:?} < {pb:?}");
            }
            assert!(Position::parse(m.as_str()).is_some(), "{m:?} is a valid key");
        }
    }

    #[test]
    fn repeated_inserts_at_the_front_and_between_stay_ordered() {
        let mut keys = vec![Position::between(None, None)];
        for i in 0..500 {
            let k = if i % 2 == 0 {
                Position::between(None, Some(&keys[0]))
            } else {
                Position::between(Some(&keys[0]), Some(&keys[1]))
            };
            keys.push(k);
            keys.sort();
        }
        keys.dedup();
        assert_eq!(keys.len(), 501);
    }
}
