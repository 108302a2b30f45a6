//! How names become KV keys and subject tokens, and back.
//!
//! A global name is stored under a KV key and a process group under a
//! subject token; both have a small alphabet. Names that fit are used as
//! they are (readable in `nats kv ls`); any other name is encoded as `=`
//! followed by its UTF-8 bytes in unpadded base64url. `=` cannot start a
//! name that is used as it is, so the two forms never collide.
//!
//! # Invariants
//!
//! 1. `name_of_key(&key_of(n)?) == Some(n)` for every accepted name.
//! 2. Distinct names give distinct keys (and tokens).
//! 3. Every key is a valid KV key; every token is one subject token (no
//!    `.`, `*`, `>`, whitespace).

/// The longest accepted name, in bytes: its encoded key stays well under
/// the server's limit on a subject's length.
pub(crate) const MAX_NAME_LEN: usize = 200;

/// Why a name was refused.
pub(crate) fn check_len(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a name must not be empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "a name must be at most {MAX_NAME_LEN} bytes, this one is {}",
            name.len()
        ));
    }
    Ok(())
}

/// The KV key of a global name: the name itself when it is a plain key
/// (`[-/_=.A-Za-z0-9]`, dot-separated non-empty parts, not starting with
/// `=`), else `=` + base64url.
pub(crate) fn key_of(name: &str) -> Result<String, String> {
    check_len(name)?;
    let plain = !name.starts_with('=')
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'/' | b'_' | b'='))
        });
    Ok(if plain {
        name.to_owned()
    } else {
        format!("={}", b64_encode(name.as_bytes()))
    })
}

/// The subject token of a group name: the name itself when it is made of
/// `[-_A-Za-z0-9]`, else `=` + base64url.
pub(crate) fn token_of(name: &str) -> Result<String, String> {
    check_len(name)?;
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    Ok(if plain {
        name.to_owned()
    } else {
        format!("={}", b64_encode(name.as_bytes()))
    })
}

/// The name a key or token stands for; `None` for a key no name maps to.
pub(crate) fn name_of_key(key: &str) -> Option<String> {
    match key.strip_prefix('=') {
        Some(encoded) => String::from_utf8(b64_decode(encoded)?).ok(),
        None => Some(key.to_owned()),
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded base64url (RFC 4648 §5).
fn b64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// Inverse of [`b64_encode`]; `None` for anything it cannot have made.
fn b64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| ALPHABET.iter().position(|&a| a == c).map(|v| v as u32);
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let bytes = chunk.len() - 1;
        for i in 0..bytes {
            out.push((n >> (16 - 8 * i)) as u8);
        }
        // Bits below the last whole byte must be zero, or two texts would
        // decode to the same bytes.
        if n & ((1 << (24 - 8 * bytes)) - 1) != 0 {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_kv_key(k: &str) -> bool {
        !k.is_empty()
            && !k.starts_with('.')
            && !k.ends_with('.')
            && !k.contains("..")
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-/_=.".contains(&b))
    }

    #[test]
    fn plain_names_are_their_own_keys() {
        for n in ["db", "todo.server", "a/b_c-d", "x=1", "A.b.C"] {
            assert_eq!(key_of(n).unwrap(), n);
            assert_eq!(name_of_key(n).unwrap(), n);
        }
    }

    #[test]
    fn other_names_are_encoded_and_round_trip() {
        for n in [
            "with space",
            "a..b",
            ".lead",
            "trail.",
            "=eq",
            "*",
            ">",
            "ünï",
            "a\nb",
            "日本",
            "x",
            "xy",
            "xyz",
            "wxyz",
        ] {
            let k = key_of(n).unwrap();
            let plain = !n.starts_with('=') && valid_kv_key(n);
            assert_eq!(k == n, plain, "{n:?} -> {k:?}");
            assert!(valid_kv_key(&k), "{n:?} -> {k:?}");
            assert_eq!(name_of_key(&k).as_deref(), Some(n), "{k:?}");
            let t = token_of(n).unwrap();
            assert!(
                !t.contains(['.', '*', '>', ' ', '\n', '\t']),
                "{n:?} -> {t:?}"
            );
            assert_eq!(name_of_key(&t).as_deref(), Some(n), "{t:?}");
        }
    }

    #[test]
    fn dots_are_encoded_in_group_tokens() {
        assert_eq!(token_of("workers").unwrap(), "workers");
        assert_ne!(token_of("a.any").unwrap(), "a.any");
    }

    #[test]
    fn empty_and_overlong_names_are_refused() {
        assert!(key_of("").is_err());
        assert!(token_of("").is_err());
        let long = "a".repeat(MAX_NAME_LEN + 1);
        assert!(key_of(&long).unwrap_err().contains("at most"));
        assert!(key_of(&long[..MAX_NAME_LEN]).is_ok());
    }

    #[test]
    fn base64url_matches_the_rfc_vectors_and_rejects_garbage() {
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(b64_encode(raw.as_bytes()), enc);
            assert_eq!(b64_decode(enc).unwrap(), raw.as_bytes());
        }
        assert_eq!(b64_encode(&[0xfb, 0xff]), "-_8");
        for bad in ["Z", "Zh", "Z!", "Zm9v+"] {
            assert!(b64_decode(bad).is_none(), "{bad:?}");
        }
        assert!(name_of_key("=Zh").is_none());
        // Not UTF-8.
        assert!(name_of_key(&format!("={}", b64_encode(&[0xff]))).is_none());
    }
}
