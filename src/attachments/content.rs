//! What an uploaded file is and how it may be served. The type comes from the bytes,
//! never from the client; types a browser would run (HTML, SVG, XML) are only ever
//! served as opaque downloads.

/// Bytes looked at to tell the type.
pub const SNIFF_BYTES: usize = 8192;

/// The type of a file from its first bytes.
pub fn sniff(head: &[u8]) -> String {
    if let Some(kind) = infer::get(head) {
        let mime = kind.mime_type();
        if mime == "text/xml" && contains_ignore_case(head, b"<svg") {
            return "image/svg+xml".into();
        }
        return mime.into();
    }
    if looks_like_text(head) {
        if contains_ignore_case(head, b"<svg") {
            return "image/svg+xml".into();
        }
        return "text/plain".into();
    }
    "application/octet-stream".into()
}

/// Text: valid UTF-8 (a character cut at the end of the sample allowed) without NULs.
fn looks_like_text(head: &[u8]) -> bool {
    if head.is_empty() || head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    }
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

/// The `Content-Type` a download is served with: active content never keeps its type.
pub fn served_type(stored: &str) -> &str {
    let t = stored.to_ascii_lowercase();
    let active =
        t.starts_with("text/html") || t.contains("xml") || t.contains("javascript") || t.contains("ecmascript");
    if active {
        "application/octet-stream"
    } else {
        stored
    }
}

/// Bidirectional formatting characters: in a name they reorder what is shown, so
/// `invoice\u{202E}fdp.exe` reads as `invoiceexe.pdf`.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A file name safe to store and show: the last path segment, without control or
/// bidirectional formatting characters, at most 255 characters; `attachment` when
/// nothing is left.
pub fn safe_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|c| !c.is_control() && !is_bidi_control(*c)).take(255).collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    if trimmed.is_empty() {
        "attachment".into()
    } else {
        trimmed.to_owned()
    }
}

/// `Content-Disposition` for a download: always `attachment`, with an ASCII fallback
/// name and the exact name in RFC 8187 encoding.
pub fn disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::with_capacity(filename.len() * 3);
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_decide_the_type() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(sniff(b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(sniff(b"<!DOCTYPE html><script>alert(1)</script>"), "text/html");
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>"), "image/svg+xml");
        assert_eq!(sniff(b"<svg onload=alert(1)>"), "image/svg+xml");
        assert_eq!(sniff("plain words, caf\u{e9}".as_bytes()), "text/plain");
        assert_eq!(sniff(&[0, 1, 2, 3, 255]), "application/octet-stream");
        assert_eq!(sniff(b""), "application/octet-stream");
    }

    #[test]
    fn active_types_are_served_as_opaque_bytes() {
        for t in ["text/html", "image/svg+xml", "text/xml", "application/xhtml+xml", "text/javascript"] {
            assert_eq!(served_type(t), "application/octet-stream", "{t}");
        }
        assert_eq!(served_type("image/png"), "image/png");
        assert_eq!(served_type("text/plain"), "text/plain");
    }

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("C:\\Users\\me\\report.pdf"), "report.pdf");
        assert_eq!(safe_filename("a\r\nb.txt"), "ab.txt");
        assert_eq!(safe_filename("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(safe_filename("\u{2067}a\u{2069}\u{200F}b\u{061C}.txt"), "ab.txt");
        assert_eq!(safe_filename("  "), "attachment");
        assert_eq!(safe_filename(".htaccess"), "htaccess");
        assert_eq!(safe_filename(&"x".repeat(300)).chars().count(), 255);
    }

    #[test]
    fn dispositions_are_attachments_with_an_encoded_name() {
        assert_eq!(
            disposition("Résumé \"final\".pdf"),
            "attachment; filename=\"R_sum_ _final_.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.pdf"
        );
    }
}
