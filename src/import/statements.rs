//! The `INSERT` statements of a dump that fill `restcomm_accounts`, read into rows of values;
//! every other statement is tokenized (so its strings are skipped whole) and passed over.
//! One grammar serves both dialects: `INSERT|REPLACE [IGNORE] INTO [schema.]table [(columns)]
//! VALUES (...)[, (...)]...`.

use std::borrow::Cow;

use super::tokenizer::{Dialect, Located, Token, TokenError, Tokenizer};
use super::Problem;

pub const TABLE: &str = "restcomm_accounts";

/// One value of a row: a string, a bare word (a number), or NULL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Text(Cow<'a, str>),
    Word(&'a str),
    Null,
}

/// The values of one row, with the line its `(` is on and the column names its statement
/// listed, if any.
#[derive(Clone, Debug)]
pub struct RawRow<'a> {
    pub line: usize,
    pub columns: Option<std::rc::Rc<Vec<String>>>,
    pub values: Vec<Value<'a>>,
}

/// Every row inserted into `restcomm_accounts`, or every problem found on the way: a literal
/// that cannot be read ends the reading there, a statement that cannot be read is named and
/// passed over.
#[cfg(test)]
pub fn rows(text: &str, dialect: Dialect) -> Result<Vec<RawRow<'_>>, Vec<Problem>> {
    let mut rows = Vec::new();
    each_row(text, dialect, |row| rows.push(row))?;
    Ok(rows)
}

/// As [`rows`], handing each row to `sink` as soon as it is read, so that a large dump is never
/// held twice.
pub fn each_row<'a>(
    text: &'a str,
    dialect: Dialect,
    mut sink: impl FnMut(RawRow<'a>),
) -> Result<(), Vec<Problem>> {
    let mut reader = Reader {
        tokens: Tokenizer::new(text, dialect),
        peeked: None,
    };
    let mut problems = Vec::new();
    loop {
        match reader.statement(&mut sink) {
            Ok(true) => {}
            Ok(false) => break,
            Err(Failure::Syntax(problem)) => {
                problems.push(problem);
                if let Err(failure) = reader.skip_statement() {
                    problems.push(failure.into());
                    break;
                }
            }
            Err(Failure::Token(failure)) => {
                problems.push(failure.into());
                break;
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

enum Failure {
    Syntax(Problem),
    Token(TokenError),
}

impl From<TokenError> for Failure {
    fn from(error: TokenError) -> Failure {
        Failure::Token(error)
    }
}

impl From<TokenError> for Problem {
    fn from(error: TokenError) -> Problem {
        Problem::at_line(error.line, None, error.reason)
    }
}

struct Reader<'a> {
    tokens: Tokenizer<'a>,
    peeked: Option<Option<Located<'a>>>,
}

impl<'a> Reader<'a> {
    fn next(&mut self) -> Result<Option<Located<'a>>, TokenError> {
        match self.peeked.take() {
            Some(peeked) => Ok(peeked),
            None => self.tokens.next_token(),
        }
    }

    fn peek(&mut self) -> Result<Option<&Located<'a>>, TokenError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.tokens.next_token()?);
        }
        Ok(self.peeked.as_ref().and_then(Option::as_ref))
    }

    /// Reads one statement; false at the end of the text.
    fn statement(&mut self, rows: &mut impl FnMut(RawRow<'a>)) -> Result<bool, Failure> {
        let Some(first) = self.next()? else {
            return Ok(false);
        };
        // mysqldump --replace writes REPLACE where it would write INSERT.
        if !is_word(&first.token, "INSERT") && !is_word(&first.token, "REPLACE") {
            if first.token != Token::End {
                self.skip_statement()?;
            }
            return Ok(true);
        }
        let line = first.line;
        let mut next = self.expect_any(line)?;
        if is_word(&next.token, "IGNORE") {
            next = self.expect_any(line)?;
        }
        if !is_word(&next.token, "INTO") {
            self.skip_statement()?;
            return Ok(true);
        }
        let table = self.table_name(line)?;
        if !table.eq_ignore_ascii_case(TABLE) {
            self.skip_statement()?;
            return Ok(true);
        }
        self.insert_rows(line, rows)?;
        Ok(true)
    }

    /// `[schema.]table`: the last part.
    fn table_name(&mut self, line: usize) -> Result<String, Failure> {
        let mut name = self.name(line)?;
        while matches!(
            self.peek()?,
            Some(Located {
                token: Token::Punct('.'),
                ..
            })
        ) {
            self.next()?;
            name = self.name(line)?;
        }
        Ok(name)
    }

    fn name(&mut self, line: usize) -> Result<String, Failure> {
        let located = self.expect_any(line)?;
        match located.token {
            Token::Word(word) => Ok(word.to_owned()),
            Token::Name(name) => Ok(name.into_owned()),
            // mysqldump --compatible=ansi quotes names as "..." (ANSI_QUOTES).
            Token::Text(name) if self.dialect() == Dialect::MySql => Ok(name.into_owned()),
            _ => Err(syntax(located.line, "a table or column name was expected")),
        }
    }

    fn insert_rows(
        &mut self,
        line: usize,
        rows: &mut impl FnMut(RawRow<'a>),
    ) -> Result<(), Failure> {
        let mut next = self.expect_any(line)?;
        let mut columns = None;
        if next.token == Token::Punct('(') {
            columns = Some(std::rc::Rc::new(self.column_names(line)?));
            next = self.expect_any(line)?;
        }
        if !is_word(&next.token, "VALUES") && !is_word(&next.token, "VALUE") {
            return Err(syntax(next.line, "VALUES was expected"));
        }
        loop {
            let open = self.expect_any(line)?;
            if open.token != Token::Punct('(') {
                return Err(syntax(open.line, "a row was expected: ( is missing"));
            }
            let values = self.values(open.line)?;
            rows(RawRow {
                line: open.line,
                columns: columns.clone(),
                values,
            });
            let after = self.next()?;
            match after.map(|located| located.token) {
                Some(Token::Punct(',')) => continue,
                Some(Token::End) => return Ok(()),
                // HSQLDB's last line may lack its line end.
                None if self.dialect() == Dialect::Hsqldb => return Ok(()),
                None => return Err(cut_short(line)),
                Some(_) => {
                    return Err(syntax(
                        open.line,
                        "a row is not followed by , or the statement's end",
                    ))
                }
            }
        }
    }

    fn dialect(&self) -> Dialect {
        self.tokens.dialect()
    }

    fn column_names(&mut self, line: usize) -> Result<Vec<String>, Failure> {
        let mut names = Vec::new();
        loop {
            names.push(self.name(line)?);
            let after = self.expect_any(line)?;
            match after.token {
                Token::Punct(',') => continue,
                Token::Punct(')') => return Ok(names),
                _ => return Err(syntax(after.line, "the column list is not closed")),
            }
        }
    }

    fn values(&mut self, line: usize) -> Result<Vec<Value<'a>>, Failure> {
        let mut values = Vec::with_capacity(12);
        loop {
            let located = self.expect_any(line)?;
            let value = match located.token {
                Token::Text(text) => Value::Text(text),
                Token::Word(word) if word.eq_ignore_ascii_case("NULL") => Value::Null,
                Token::Word(word) => Value::Word(word),
                Token::End => return Err(syntax(line, "the row is cut short")),
                _ => return Err(syntax(located.line, "a value was expected")),
            };
            values.push(value);
            let after = self.expect_any(line)?;
            match after.token {
                Token::Punct(',') => continue,
                Token::Punct(')') => return Ok(values),
                Token::End => return Err(syntax(line, "the row is cut short")),
                _ => return Err(syntax(after.line, "a value is not followed by , or )")),
            }
        }
    }

    /// The next token of the statement that began on `line`; the text must not end here.
    fn expect_any(&mut self, line: usize) -> Result<Located<'a>, Failure> {
        self.next()?.ok_or_else(|| cut_short(line))
    }

    fn skip_statement(&mut self) -> Result<(), TokenError> {
        while let Some(located) = self.next()? {
            if located.token == Token::End {
                break;
            }
        }
        Ok(())
    }
}

fn is_word(token: &Token<'_>, keyword: &str) -> bool {
    matches!(token, Token::Word(word) if word.eq_ignore_ascii_case(keyword))
}

fn syntax(line: usize, reason: &str) -> Failure {
    Failure::Syntax(Problem::at_line(line, None, reason.to_owned()))
}

fn cut_short(line: usize) -> Failure {
    syntax(
        line,
        "the file ends inside this statement: it is cut short (truncated?)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(row: &RawRow<'_>) -> Vec<String> {
        row.values
            .iter()
            .map(|value| match value {
                Value::Text(text) => text.to_string(),
                Value::Word(word) => format!("word:{word}"),
                Value::Null => "NULL".into(),
            })
            .collect()
    }

    #[test]
    fn extended_inserts_give_every_row_with_its_line() {
        let dump = "-- MySQL dump\n\
            CREATE TABLE `restcomm_accounts` (`sid` varchar(34) NOT NULL COMMENT 'a;b');\n\
            INSERT INTO `other` VALUES ('x;y');\n\
            INSERT INTO `restcomm_accounts` VALUES ('a','b,c'),\n('d)',NULL),(3,'e');\n\
            INSERT INTO restcomm_accounts (`sid`, `role`) VALUES ('f','g');\n\
            INSERT INTO \"restcomm_accounts\" (\"sid\") VALUES ('h');\n\
            REPLACE INTO `restcomm_accounts` VALUES ('i');\n";
        let rows = rows(dump, Dialect::MySql).unwrap();
        let all: Vec<_> = rows.iter().map(|row| (row.line, texts(row))).collect();
        assert_eq!(
            all,
            [
                (4, vec!["a".to_string(), "b,c".into()]),
                (5, vec!["d)".into(), "NULL".into()]),
                (5, vec!["word:3".into(), "e".into()]),
                (6, vec!["f".into(), "g".into()]),
                (7, vec!["h".into()]),
                (8, vec!["i".into()]),
            ]
        );
        assert_eq!(
            rows[3].columns.as_deref().unwrap(),
            &["sid".to_string(), "role".into()]
        );
        assert!(rows[0].columns.is_none());
    }

    #[test]
    fn hsqldb_lines_are_statements() {
        let script = "SET SCHEMA PUBLIC\n\
            INSERT INTO \"restcomm_clients\" VALUES('x')\n\
            INSERT INTO \"restcomm_accounts\" VALUES('a''b','c\\u00e9',NULL)\n\
            INSERT INTO PUBLIC.\"restcomm_accounts\" VALUES('z')";
        let rows = rows(script, Dialect::Hsqldb).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 3);
        assert_eq!(texts(&rows[0]), ["a'b", "c\u{e9}", "NULL"]);
        assert_eq!(texts(&rows[1]), ["z"]);
    }

    #[test]
    fn a_cut_short_dump_is_refused_with_its_line() {
        for (text, dialect, line) in [
            (
                "INSERT INTO `restcomm_accounts` VALUES ('a'),('b'",
                Dialect::MySql,
                1,
            ),
            (
                "INSERT INTO `restcomm_accounts` VALUES ('a'),\n('b')",
                Dialect::MySql,
                1,
            ),
            (
                "X\nINSERT INTO \"restcomm_accounts\" VALUES('a','b",
                Dialect::Hsqldb,
                2,
            ),
            (
                "INSERT INTO \"restcomm_accounts\" VALUES('a',\nX",
                Dialect::Hsqldb,
                1,
            ),
        ] {
            let problems = rows(text, dialect).unwrap_err();
            assert_eq!(problems[0].line, Some(line), "{text:?}: {problems:?}");
        }
    }

    #[test]
    fn a_bad_statement_is_named_and_the_next_ones_still_read() {
        let text = "INSERT INTO `restcomm_accounts` VALUES ('a' 'b');\n\
                    INSERT INTO `restcomm_accounts` VALUES (x y);\n\
                    INSERT INTO `restcomm_accounts` VALUES ('c');";
        let problems = rows(text, Dialect::MySql).unwrap_err();
        let lines: Vec<_> = problems.iter().map(|problem| problem.line).collect();
        assert_eq!(lines, [Some(1), Some(2)]);
    }
}
