//! A line-by-line diff for trace comparisons (golden and differential tests).

/// `None` when `expected == actual`; otherwise a readable diff: the first
/// differing line number, then every line prefixed with `  ` (both), `- `
/// (expected only) or `+ ` (actual only), with unchanged runs longer than
/// six lines elided.
///
/// # Examples
///
/// ```
/// let d = arbor_conformance::line_diff("a\nb\nc\n", "a\nx\nc\n").unwrap();
/// assert!(d.contains("- b") && d.contains("+ x"));
/// assert!(arbor_conformance::line_diff("a\n", "a\n").is_none());
/// ```
pub fn line_diff(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    // LCS table, from the end.
    let mut lcs = vec![vec![0u32; a.len() + 1]; e.len() + 1];
    for i in (0..e.len()).rev() {
        for j in (0..a.len()).rev() {
            lcs[i][j] = if e[i] == a[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut rows: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < e.len() || j < a.len() {
        if i < e.len() && j < a.len() && e[i] == a[j] {
            rows.push((' ', e[i]));
            i += 1;
            j += 1;
        } else if j < a.len() && (i == e.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            rows.push(('+', a[j]));
            j += 1;
        } else {
            rows.push(('-', e[i]));
            i += 1;
        }
    }
    let first = rows
        .iter()
        .position(|(c, _)| *c != ' ')
        .map_or(0, |p| p + 1);
    let mut out =
        format!("trace differs (first difference at row {first}; - expected, + actual):\n");
    let near_change = |k: usize| {
        let lo = k.saturating_sub(3);
        let hi = (k + 4).min(rows.len());
        rows[lo..hi].iter().any(|(c, _)| *c != ' ')
    };
    let mut elided = false;
    for (k, (c, line)) in rows.iter().enumerate() {
        if *c == ' ' && !near_change(k) {
            if !elided {
                out.push_str("  ...\n");
                elided = true;
            }
            continue;
        }
        elided = false;
        out.push(*c);
        out.push(' ');
        out.push_str(line);
        out.push('\n');
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        out.push_str("(the final newline differs)\n");
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn shows_changed_lines_in_order() {
        let d = line_diff("a\nb\nc\nd\n", "a\nc\nx\nd\n").unwrap();
        let body: Vec<&str> = d.lines().skip(1).collect();
        assert_eq!(body, ["  a", "- b", "  c", "+ x", "  d"]);
    }

    #[test]
    fn elides_long_equal_runs() {
        let e: String = (0..20).map(|i| format!("l{i}\n")).collect();
        let a = e.replace("l10\n", "z\n");
        let d = line_diff(&e, &a).unwrap();
        assert!(d.contains("  ...\n"));
        assert!(d.contains("- l10\n+ z\n") || d.contains("+ z\n- l10\n"));
        assert!(!d.contains("l0\n"));
    }
}
