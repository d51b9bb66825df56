//! Turns fuzzer bytes into an HTTP request: the input is a raw HTTP/1.1
//! request (so the corpus can be real request captures), parsed leniently.

/// Builds a request from raw bytes, keeping whatever parses.
pub fn request(data: &[u8]) -> Option<http::Request<bytes::Bytes>> {
    let split = data.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(data.len());
    let (head, body) = (&data[..split], data.get(split + 4..).unwrap_or(&[]));
    let mut lines = head.split(|&b| b == b'\n');
    let first = lines.next()?;
    let mut parts = first.split(|&b| b == b' ');
    let method = http::Method::from_bytes(parts.next()?).ok()?;
    let uri = http::Uri::try_from(parts.next()?).ok()?;
    let mut b = http::Request::builder().method(method).uri(uri);
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(&line[..colon]),
            http::HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        b = b.header(name, value);
    }
    b.body(bytes::Bytes::copy_from_slice(body)).ok()
}
