//! SQL literals and words as the two dumps write them, one token at a time, each with the line
//! it starts on. Only what an `INSERT` statement needs is recognised; every string literal is
//! decoded by its dialect's rules, so a quote, comma or parenthesis inside a value is text.

use std::borrow::Cow;

/// Whose rules decide how strings are escaped and where a statement ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// HSQLDB's `.script`: one statement per line; `''` is a quote; `\uXXXX` is a UTF-16 code
    /// unit (HSQLDB writes every character outside printable ASCII so); any other backslash is
    /// itself.
    Hsqldb,
    /// `mysqldump`: statements end at `;`; `'...'` and `"..."` strings with backslash escapes
    /// and doubled quotes; backquoted names; `--`, `#` and `/* */` comments.
    MySql,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token<'a> {
    /// A keyword, a bare name or a number.
    Word(&'a str),
    /// A quoted name: `"name"` (HSQLDB) or `` `name` `` (MySQL).
    Name(Cow<'a, str>),
    /// A string literal, decoded.
    Text(Cow<'a, str>),
    /// `(`, `)`, `,`, `.`, or any other single character outside a literal.
    Punct(char),
    /// The end of a statement: a line end (HSQLDB) or `;` (MySQL).
    End,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<'a> {
    pub token: Token<'a>,
    pub line: usize,
}

/// A literal that cannot be read, with the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenError {
    pub line: usize,
    pub reason: String,
}

pub struct Tokenizer<'a> {
    text: &'a str,
    at: usize,
    line: usize,
    dialect: Dialect,
}

impl<'a> Tokenizer<'a> {
    pub fn new(text: &'a str, dialect: Dialect) -> Tokenizer<'a> {
        Tokenizer {
            text,
            at: 0,
            line: 1,
            dialect,
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The next token, `None` at the end of the text.
    pub fn next_token(&mut self) -> Result<Option<Located<'a>>, TokenError> {
        self.skip_blanks_and_comments()?;
        let bytes = self.text.as_bytes();
        let Some(&first) = bytes.get(self.at) else {
            return Ok(None);
        };
        let line = self.line;
        let token = match (first, self.dialect) {
            (b'\n', Dialect::Hsqldb) | (b';', Dialect::MySql) => {
                self.advance(1);
                Token::End
            }
            (b'\'', _) => Token::Text(self.quoted(b'\'')?),
            (b'"', Dialect::MySql) => Token::Text(self.quoted(b'"')?),
            (b'"', Dialect::Hsqldb) => Token::Name(self.quoted(b'"')?),
            (b'`', Dialect::MySql) => Token::Name(self.quoted(b'`')?),
            (byte, _) if is_word_byte(byte) => {
                let start = self.at;
                let len = bytes[start..]
                    .iter()
                    .take_while(|b| is_word_byte(**b))
                    .count();
                self.advance(len);
                Token::Word(&self.text[start..start + len])
            }
            _ => {
                let c = self.text[self.at..].chars().next().unwrap_or('\u{FFFD}');
                self.advance(c.len_utf8());
                Token::Punct(c)
            }
        };
        Ok(Some(Located { token, line }))
    }

    fn advance(&mut self, len: usize) {
        let end = self.at + len;
        self.line += memchr_count(&self.text.as_bytes()[self.at..end]);
        self.at = end;
    }

    fn skip_blanks_and_comments(&mut self) -> Result<(), TokenError> {
        let bytes = self.text.as_bytes();
        loop {
            let rest = &bytes[self.at..];
            match rest.first() {
                Some(b'\n') if self.dialect == Dialect::Hsqldb => return Ok(()),
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.advance(1),
                _ if self.dialect == Dialect::MySql && starts_line_comment(rest) => {
                    let len = rest.iter().take_while(|b| **b != b'\n').count();
                    self.advance(len);
                }
                _ if self.dialect == Dialect::MySql && rest.starts_with(b"/*") => {
                    let line = self.line;
                    match find(&rest[2..], b"*/") {
                        Some(end) => self.advance(end + 4),
                        None => return Err(error(line, "a comment is never closed")),
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// A literal or name between `quote`s, decoded; borrowed when it holds no escape.
    fn quoted(&mut self, quote: u8) -> Result<Cow<'a, str>, TokenError> {
        let line = self.line;
        let start = self.at + 1;
        let bytes = self.text.as_bytes();
        let escapes = quote != b'`' && self.dialect == Dialect::MySql;
        let mut end = start;
        let mut plain = true;
        loop {
            match bytes.get(end) {
                None => return Err(error(line, "a quoted value is never closed")),
                Some(b) if *b == quote => {
                    if bytes.get(end + 1) == Some(&quote) {
                        plain = false;
                        end += 2;
                        continue;
                    }
                    break;
                }
                Some(b'\\') if escapes => {
                    plain = false;
                    end += 2;
                }
                Some(b'\\') if self.dialect == Dialect::Hsqldb => {
                    plain = false;
                    end += 1;
                }
                Some(_) => end += 1,
            }
        }
        let raw = &self.text[start..end];
        self.advance(end + 1 - self.at);
        if plain {
            return Ok(Cow::Borrowed(raw));
        }
        let decoded = match (self.dialect, quote) {
            (Dialect::MySql, b'`') => raw.replace("``", "`"),
            (Dialect::MySql, _) => mysql_unescape(raw, quote),
            (Dialect::Hsqldb, _) => {
                hsqldb_unescape(raw, quote).map_err(|reason| error(line, reason))?
            }
        };
        Ok(Cow::Owned(decoded))
    }
}

fn error(line: usize, reason: &str) -> TokenError {
    TokenError {
        line,
        reason: reason.to_owned(),
    }
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$'
}

/// `-- ` (MySQL wants a blank after the dashes), `--` at the end of a line, or `#`.
fn starts_line_comment(rest: &[u8]) -> bool {
    rest.first() == Some(&b'#')
        || (rest.starts_with(b"--")
            && matches!(rest.get(2), None | Some(b' ' | b'\t' | b'\r' | b'\n')))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn memchr_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| **b == b'\n').count()
}

/// MySQL's string escapes (what `mysqldump` writes, and the rest of the table of its manual):
/// `\0 \' \" \b \n \r \t \Z \\`, `\%` and `\_` kept with their backslash, any other `\x` as
/// `x`; a doubled quote is one quote.
fn mysql_unescape(raw: &str, quote: u8) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('0') => out.push('\0'),
                Some('b') => out.push('\u{8}'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('Z') => out.push('\u{1A}'),
                Some(kept @ ('%' | '_')) => {
                    out.push('\\');
                    out.push(kept);
                }
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            c if c == quote as char => {
                // The tokenizer only lets a quote through doubled: keep one.
                chars.next();
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// HSQLDB's script strings: a doubled quote is one quote, `\uXXXX` a UTF-16 code unit (a
/// surrogate pair makes one character), any other backslash is itself.
fn hsqldb_unescape(raw: &str, quote: u8) -> Result<String, &'static str> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    let mut high: Option<u16> = None;
    while let Some(c) = rest.chars().next() {
        let unit = if c == '\\' && rest[1..].starts_with('u') {
            let hex = rest.get(2..6).ok_or("a \\u escape is cut short")?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err("a \\u escape is not four hex digits");
            }
            rest = &rest[6..];
            Some(u16::from_str_radix(hex, 16).map_err(|_| "a \\u escape is not four hex digits")?)
        } else {
            rest = &rest[c.len_utf8()..];
            None
        };
        match (high.take(), unit) {
            (Some(first), Some(second)) if (0xDC00..0xE000).contains(&second) => {
                let code =
                    0x10000 + ((u32::from(first) - 0xD800) << 10) + (u32::from(second) - 0xDC00);
                out.push(char::from_u32(code).ok_or("a \\u escape pair is not a character")?);
            }
            (Some(_), _) => return Err("a \\u escape holds half a character"),
            (None, Some(unit)) if (0xD800..0xDC00).contains(&unit) => high = Some(unit),
            (None, Some(unit)) => out.push(
                char::from_u32(u32::from(unit)).ok_or("a \\u escape holds half a character")?,
            ),
            (None, None) if c == quote as char => {
                rest = &rest[1..];
                out.push(c);
            }
            (None, None) => out.push(c),
        }
    }
    if high.is_some() {
        return Err("a \\u escape holds half a character");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str, dialect: Dialect) -> Vec<Token<'_>> {
        let mut tokenizer = Tokenizer::new(text, dialect);
        let mut all = Vec::new();
        while let Some(located) = tokenizer.next_token().unwrap() {
            all.push(located.token);
        }
        all
    }

    fn one_text(literal: &str, dialect: Dialect) -> String {
        match tokens(literal, dialect).as_slice() {
            [Token::Text(text)] => text.to_string(),
            other => panic!("{literal}: {other:?}"),
        }
    }

    #[test]
    fn every_mysql_escape() {
        for (literal, text) in [
            (r"'plain'", "plain"),
            (r"'it\'s'", "it's"),
            (r"'it''s'", "it's"),
            (r#"'say \"hi\"'"#, "say \"hi\""),
            (r#""double ""quoted"" \" ok""#, "double \"quoted\" \" ok"),
            (r"'back\\slash'", "back\\slash"),
            (r"'nul\0byte'", "nul\0byte"),
            (r"'bs\bx'", "bs\u{8}x"),
            (r"'line\nbreak'", "line\nbreak"),
            (r"'cr\rx'", "cr\rx"),
            (r"'tab\tx'", "tab\tx"),
            (r"'ctrl\Zz'", "ctrl\u{1A}z"),
            (r"'pct\%und\_'", "pct\\%und\\_"),
            (r"'other\qx'", "otherqx"),
            ("'caf\u{e9} \u{1F600}'", "caf\u{e9} \u{1F600}"),
            ("'a, (b); c'", "a, (b); c"),
            (r"'\\'", "\\"),
            (r"''", ""),
        ] {
            assert_eq!(one_text(literal, Dialect::MySql), text, "{literal}");
        }
    }

    #[test]
    fn every_hsqldb_escape() {
        for (literal, text) in [
            ("'plain'", "plain"),
            ("'it''s'", "it's"),
            (r"'caf\u00e9'", "caf\u{e9}"),
            (r"'\u00C9T\u00c9'", "\u{c9}T\u{c9}"),
            (r"'smile \ud83d\ude00'", "smile \u{1F600}"),
            (r"'line\u000abreak'", "line\nbreak"),
            (r"'back\slash'", "back\\slash"),
            (r"'\u005cu0041'", "\\u0041"),
            (r"'a\\b'", "a\\\\b"),
            ("'a, (b); c'", "a, (b); c"),
            ("''", ""),
        ] {
            assert_eq!(one_text(literal, Dialect::Hsqldb), text, "{literal}");
        }
    }

    #[test]
    fn broken_hsqldb_escapes_are_refused() {
        for literal in [
            r"'\u00'",
            r"'\u00zz'",
            r"'\ud83d'",
            r"'\ude00'",
            r"'\ud83dx'",
        ] {
            let mut tokenizer = Tokenizer::new(literal, Dialect::Hsqldb);
            assert!(tokenizer.next_token().is_err(), "{literal}");
        }
    }

    #[test]
    fn unclosed_literals_and_comments_are_refused_with_their_line() {
        for (text, dialect) in [
            ("x\n'open", Dialect::Hsqldb),
            ("x\n'open\\'", Dialect::MySql),
            ("x\n/* open", Dialect::MySql),
        ] {
            let mut tokenizer = Tokenizer::new(text, dialect);
            let failure = loop {
                match tokenizer.next_token() {
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("{text:?} passed"),
                    Err(failure) => break failure,
                }
            };
            assert_eq!(failure.line, 2, "{text:?}");
        }
    }

    #[test]
    fn statements_end_by_dialect() {
        let hsqldb = tokens("INSERT INTO \"t\" VALUES('a;b',NULL)\nX", Dialect::Hsqldb);
        assert_eq!(
            hsqldb,
            [
                Token::Word("INSERT"),
                Token::Word("INTO"),
                Token::Name("t".into()),
                Token::Word("VALUES"),
                Token::Punct('('),
                Token::Text("a;b".into()),
                Token::Punct(','),
                Token::Word("NULL"),
                Token::Punct(')'),
                Token::End,
                Token::Word("X"),
            ]
        );
        let mysql = tokens(
            "-- MySQL dump\n/*!40101 SET x=1 */;\n# note\nINSERT INTO `t``x` VALUES ('a\nb'),(1);",
            Dialect::MySql,
        );
        assert_eq!(
            mysql,
            [
                Token::End,
                Token::Word("INSERT"),
                Token::Word("INTO"),
                Token::Name("t`x".into()),
                Token::Word("VALUES"),
                Token::Punct('('),
                Token::Text("a\nb".into()),
                Token::Punct(')'),
                Token::Punct(','),
                Token::Punct('('),
                Token::Word("1"),
                Token::Punct(')'),
                Token::End,
            ]
        );
    }

    #[test]
    fn tokens_carry_the_line_they_start_on() {
        let mut tokenizer = Tokenizer::new("a\n'b\nc'\nd", Dialect::MySql);
        let mut lines = Vec::new();
        while let Some(located) = tokenizer.next_token().unwrap() {
            lines.push(located.line);
        }
        assert_eq!(lines, [1, 2, 4]);
    }
}
