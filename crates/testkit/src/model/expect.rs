//! What the model predicts an operation produces: the log lines
//! ([`Expect`], checked with [`match_log`]) and the API call's [`Reply`].

/// An API result without pids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// No API call was made.
    None,
    /// `Ok(())`.
    Ok,
    /// `Ok(StartedChild::Started(_))`.
    Started,
    /// An error, by OTP name: `not_found`, `running`, `restarting`,
    /// `already_started`, `already_present`, `simple_one_for_one`,
    /// `not_simple_one_for_one`, `call` (the supervisor is dead), or
    /// another error's text.
    Err(String),
}

impl Reply {
    pub(crate) fn err(s: &str) -> Reply {
        Reply::Err(s.to_string())
    }
}

/// Expected log entries: one line, or lines in any order (children
/// stopped in parallel, or dying concurrently of a killed supervisor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Exactly this line.
    Line(String),
    /// These lines, in some order.
    Unordered(Vec<String>),
}

/// Checks `actual` log lines against expectations.
///
/// # Errors
///
/// A description of the first difference.
pub fn match_log(expected: &[Expect], actual: &[String]) -> Result<(), String> {
    let mut i = 0;
    for e in expected {
        match e {
            Expect::Line(l) => {
                if actual.get(i) != Some(l) {
                    return Err(format!(
                        "log[{i}]: expected {l:?}, got {:?} (expected {expected:?}, actual {actual:?})",
                        actual.get(i)
                    ));
                }
                i += 1;
            }
            Expect::Unordered(set) => {
                let end = i + set.len();
                let Some(got) = actual.get(i..end) else {
                    return Err(format!(
                        "log[{i}..{end}]: expected {set:?} in any order, log too short (expected {expected:?}, actual {actual:?})"
                    ));
                };
                let mut got = got.to_vec();
                let mut want = set.clone();
                got.sort();
                want.sort();
                if got != want {
                    return Err(format!(
                        "log[{i}..{end}]: expected {want:?} in any order, got {got:?} (expected {expected:?}, actual {actual:?})"
                    ));
                }
                i = end;
            }
        }
    }
    if i != actual.len() {
        return Err(format!(
            "log has extra lines {:?} (expected {expected:?})",
            &actual[i..]
        ));
    }
    Ok(())
}
