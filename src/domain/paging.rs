//! Keyset paging: a page token remembers where a page ended, so the next page costs the same
//! as the first however deep the listing goes.

use super::account::UnixTime;
use super::error::Invalid;
use super::store::Cursor;

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 1000;

/// Opaque to clients: `PA` (after) or `PB` (before), the creation time, `_`, the sequence
/// number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageToken {
    After(Cursor),
    Before(Cursor),
}

impl PageToken {
    pub fn parse(raw: &str) -> Result<PageToken, Invalid> {
        Self::decode(raw).ok_or_else(|| Invalid::new("PageToken", "is not a token from a page URI"))
    }

    fn decode(raw: &str) -> Option<PageToken> {
        let (kind, rest) = (raw.get(..2)?, raw.get(2..)?);
        let (created, seq) = rest.split_once('_')?;
        let cursor = Cursor {
            created: UnixTime(created.parse().ok()?),
            seq: seq.parse().ok()?,
        };
        match kind {
            "PA" => Some(PageToken::After(cursor)),
            "PB" => Some(PageToken::Before(cursor)),
            _ => None,
        }
    }

    pub fn encode(&self) -> String {
        let (kind, cursor) = match self {
            PageToken::After(cursor) => ("PA", cursor),
            PageToken::Before(cursor) => ("PB", cursor),
        };
        format!("{kind}{}_{}", cursor.created.0, cursor.seq)
    }
}

pub fn parse_page_size(raw: Option<&str>) -> Result<usize, Invalid> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_PAGE_SIZE);
    };
    raw.parse::<usize>()
        .ok()
        .filter(|size| (1..=MAX_PAGE_SIZE).contains(size))
        .ok_or_else(|| Invalid::new("PageSize", "must be a number from 1 to 1000"))
}

pub fn parse_page(raw: Option<&str>) -> Result<u64, Invalid> {
    let Some(raw) = raw else { return Ok(0) };
    // Bounded so that page x page size always fits SQLite's signed 64-bit OFFSET.
    raw.parse::<u64>()
        .ok()
        .filter(|page| *page <= i64::MAX as u64 / MAX_PAGE_SIZE as u64)
        .ok_or_else(|| Invalid::new("Page", "must be a whole number from 0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_junk() {
        let cursor = Cursor {
            created: UnixTime(1_700_000_000),
            seq: 42,
        };
        for token in [PageToken::After(cursor.clone()), PageToken::Before(cursor)] {
            assert_eq!(PageToken::parse(&token.encode()).unwrap(), token);
        }
        for junk in [
            "",
            "PA",
            "PX1-AC",
            "PA1-ACzz",
            "PAx-AC00000000000000000000000000000000",
            "é",
        ] {
            assert!(PageToken::parse(junk).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn page_size_and_page_bounds() {
        assert_eq!(parse_page_size(None).unwrap(), 50);
        assert_eq!(parse_page_size(Some("1000")).unwrap(), 1000);
        for bad in ["0", "1001", "-1", "ten", "", "1.5"] {
            assert_eq!(
                parse_page_size(Some(bad)).unwrap_err().parameter,
                "PageSize"
            );
        }
        assert_eq!(parse_page(Some("3")).unwrap(), 3);
        for bad in ["-1", "x", "99999999999999999999"] {
            assert_eq!(parse_page(Some(bad)).unwrap_err().parameter, "Page");
        }
    }
}
