//! Terms as scenarios write them (docs/otp/genevent-oracle.md#gev-terms): atoms, integers, tuples,
//! lists, and in patterns `_`.

use crate::term::Term;

/// Parses one token as a term (`pattern`: `_` allowed); `None` if it is
/// not exactly one term.
pub(crate) fn parse_term(tok: &str, pattern: bool) -> Option<Term> {
    let (t, rest) = pterm(tok.as_bytes(), pattern)?;
    rest.is_empty().then_some(t)
}

fn is_atom_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn pterm(s: &[u8], pat: bool) -> Option<(Term, &[u8])> {
    match s.first()? {
        b'{' => {
            let (items, r) = pelems(&s[1..], b'}', pat)?;
            Some((Term::Tuple(items), r))
        }
        b'[' => {
            let (items, r) = pelems(&s[1..], b']', pat)?;
            Some((Term::List(items), r))
        }
        b'_' if pat => match s.get(1) {
            None | Some(b',' | b'}' | b']') => Some((Term::Wild, &s[1..])),
            Some(_) => None,
        },
        c if c.is_ascii_alphabetic() => {
            let end = s.iter().position(|c| !is_atom_char(*c)).unwrap_or(s.len());
            let atom = std::str::from_utf8(&s[..end]).ok()?;
            Some((Term::atom(atom), &s[end..]))
        }
        b'-' => {
            let (i, r) = pint(&s[1..])?;
            Some((Term::Int(-i), r))
        }
        c if c.is_ascii_digit() => {
            let (i, r) = pint(s)?;
            Some((Term::Int(i), r))
        }
        _ => None,
    }
}

fn pint(s: &[u8]) -> Option<(i64, &[u8])> {
    let end = s
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    let i = std::str::from_utf8(&s[..end]).ok()?.parse::<i64>().ok()?;
    Some((i, &s[end..]))
}

fn pelems(s: &[u8], close: u8, pat: bool) -> Option<(Vec<Term>, &[u8])> {
    if s.first() == Some(&close) {
        return Some((Vec::new(), &s[1..]));
    }
    let mut items = Vec::new();
    let mut s = s;
    loop {
        let (t, r) = pterm(s, pat)?;
        items.push(t);
        match r.first() {
            Some(b',') => s = &r[1..],
            Some(c) if *c == close => return Some((items, &r[1..])),
            _ => return None,
        }
    }
}
