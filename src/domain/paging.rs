//! Keyset paging: a page token remembers where a page ended and which page comes next, so the
//! next page costs the same as the first however deep the listing goes.

use super::account::UnixTime;
use super::error::Invalid;
use super::store::Cursor;

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The accounts after the cursor: the next page.
    After,
    /// The accounts before the cursor: the previous page.
    Before,
}

/// Opaque to clients: `PA` (after) or `PB` (before), then the number of the page it opens, the
/// cursor's creation time and its sequence number, joined by `_`. Only the one spelling this
/// server writes is read back, so a token cannot be reworded into another page number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageToken {
    pub direction: Direction,
    /// Never 0: the first page has no token.
    pub page: u64,
    pub cursor: Cursor,
}

impl PageToken {
    pub fn parse(raw: &str) -> Result<PageToken, Invalid> {
        Self::decode(raw)
            .filter(|token| token.encode() == raw)
            .ok_or_else(|| Invalid::new("PageToken", "is not a token from a page URI"))
    }

    fn decode(raw: &str) -> Option<PageToken> {
        let (kind, rest) = (raw.get(..2)?, raw.get(2..)?);
        let direction = match kind {
            "PA" => Direction::After,
            "PB" => Direction::Before,
            _ => return None,
        };
        let mut parts = rest.split('_');
        let page = parts.next()?.parse().ok().filter(|page| *page > 0)?;
        let created = UnixTime(parts.next()?.parse().ok()?);
        let seq = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(PageToken {
            direction,
            page,
            cursor: Cursor { created, seq },
        })
    }

    pub fn encode(&self) -> String {
        let kind = match self.direction {
            Direction::After => "PA",
            Direction::Before => "PB",
        };
        let Cursor { created, seq } = &self.cursor;
        format!("{kind}{}_{}_{seq}", self.page, created.0)
    }
}

/// A page of a listing: its number, its size, and the position of its first account. Made only
/// where the page after it still starts at a position a signed 64-bit offset can hold, so no
/// sum or product of these ever overflows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageWindow {
    pub page: u64,
    pub size: usize,
    pub start: u64,
}

impl PageWindow {
    pub fn new(page: u64, size: usize) -> Option<PageWindow> {
        let size_u64 = u64::try_from(size).ok()?;
        let start = page.checked_mul(size_u64)?;
        let next_start = start.checked_add(size_u64)?;
        (next_start <= i64::MAX as u64).then_some(PageWindow { page, size, start })
    }

    /// The position of this page's last account, or `start - 1` for an empty page.
    pub fn end(&self, count: usize) -> i64 {
        // Both fit: start + size <= i64::MAX and count <= size.
        let count = i64::try_from(count.min(self.size)).unwrap_or(0);
        i64::try_from(self.start).unwrap_or(i64::MAX) + count - 1
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

/// A `Page` as given, if any; whether it fits is [`PageWindow`]'s question.
pub fn parse_page(raw: Option<&str>) -> Result<Option<u64>, Invalid> {
    raw.map(|raw| {
        raw.parse::<u64>()
            .map_err(|_| Invalid::new("Page", "must be a whole number from 0"))
    })
    .transpose()
}

/// The page a listing answers. A token knows which page it opens; a `Page` beside it must say
/// the same, since answering another page than the one asked for would mislead the client.
pub fn page_window(
    page: Option<u64>,
    token: Option<&PageToken>,
    size: usize,
) -> Result<PageWindow, Invalid> {
    let number = match (page, token) {
        (Some(page), Some(token)) if page != token.page => {
            return Err(Invalid::new("Page", "does not match the PageToken"))
        }
        (_, Some(token)) => token.page,
        (page, None) => page.unwrap_or(0),
    };
    PageWindow::new(number, size).ok_or_else(|| {
        let parameter = if page.is_some() { "Page" } else { "PageToken" };
        Invalid::new(parameter, "is too large for this PageSize")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(direction: Direction, page: u64) -> PageToken {
        PageToken {
            direction,
            page,
            cursor: Cursor {
                created: UnixTime(1_700_000_000),
                seq: 42,
            },
        }
    }

    #[test]
    fn tokens_round_trip_and_reject_junk() {
        for token in [
            token(Direction::After, 1),
            token(Direction::Before, u64::MAX),
        ] {
            assert_eq!(PageToken::parse(&token.encode()).unwrap(), token);
        }
        assert_eq!(token(Direction::After, 3).encode(), "PA3_1700000000_42");
        for junk in [
            "",
            "PA",
            "PX1_1_1",
            "PA0_1700000000_42",
            "PA+3_1700000000_42",
            "PA03_1700000000_42",
            "PA3_1700000000_42_",
            "PA3_1700000000",
            "PA18446744073709551616_1_1",
            "PA1-AC00000000000000000000000000000000",
            "é",
        ] {
            assert!(PageToken::parse(junk).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn the_page_comes_from_the_token_and_a_different_page_is_refused() {
        let next = token(Direction::After, 4);
        assert_eq!(page_window(None, Some(&next), 10).unwrap().start, 40);
        assert_eq!(page_window(Some(4), Some(&next), 10).unwrap().page, 4);
        let forged = page_window(Some(0), Some(&next), 10).unwrap_err();
        assert_eq!(forged.parameter, "Page");
        assert_eq!(page_window(Some(2), None, 10).unwrap().start, 20);
        assert_eq!(page_window(None, None, 10).unwrap().start, 0);
    }

    #[test]
    fn no_page_overflows() {
        let last = (i64::MAX as u64) / 1000 - 1;
        let window = page_window(Some(last), None, 1000).unwrap();
        assert_eq!(window.start, last * 1000);
        assert_eq!(window.end(1000), (last * 1000 + 999) as i64);
        assert_eq!(window.end(0), (last * 1000) as i64 - 1);
        assert_eq!(
            page_window(Some(last + 1), None, 1000)
                .unwrap_err()
                .parameter,
            "Page"
        );
        assert_eq!(
            page_window(Some(u64::MAX), None, 1).unwrap_err().parameter,
            "Page"
        );
        let huge = token(Direction::After, u64::MAX);
        assert_eq!(
            page_window(None, Some(&huge), 1).unwrap_err().parameter,
            "PageToken"
        );
        assert_eq!(PageWindow::new(0, 50).unwrap().end(0), -1);
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
        assert_eq!(parse_page(Some("3")).unwrap(), Some(3));
        assert_eq!(parse_page(None).unwrap(), None);
        for bad in ["-1", "x", "99999999999999999999", ""] {
            assert_eq!(parse_page(Some(bad)).unwrap_err().parameter, "Page");
        }
    }
}
