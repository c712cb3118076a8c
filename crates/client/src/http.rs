//! The HTTP/1.1 of DoH (RFC 8484 POST): the request's bytes, and a bounded parser of the
//! server's response (head by httparse; body by `content-length`, `chunked`, or up to the
//! end of the connection). Pure: bytes in, bytes out.
//!
//! Bounds: a head of at most [`MAX_HEAD`] bytes and [`MAX_HEADERS`] fields, a body of at most
//! 65,535 bytes (one DNS message), chunk-size lines of at most [`MAX_CHUNK_LINE`] bytes, and
//! at most [`MAX_INTERIM`] 1xx interim responses before the final one.

use thiserror::Error;

use crate::message::MAX_MESSAGE;

/// Largest response head (status line and fields).
pub const MAX_HEAD: usize = 16 * 1024;
/// Most header fields in a head.
pub const MAX_HEADERS: usize = 64;
/// Longest chunk-size line (size, extensions, CRLF).
pub const MAX_CHUNK_LINE: usize = 256;
/// Most 1xx interim responses skipped before the final one.
pub const MAX_INTERIM: usize = 4;
/// The DNS wire-format media type (RFC 8484 §6).
pub const DNS_MESSAGE: &str = "application/dns-message";

/// Why a DoH response was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The bytes are not an HTTP/1.x response.
    #[error("malformed http response: {0}")]
    Malformed(String),
    /// The head or body is over its limit.
    #[error("http response over its size limit ({0})")]
    TooLarge(&'static str),
    /// The connection ended before the response did.
    #[error("connection closed in the middle of the http response")]
    Truncated,
    /// The final status is not 200.
    #[error("http status {0}")]
    Status(u16),
    /// The body is not `application/dns-message`.
    #[error("content-type {0:?} is not application/dns-message")]
    ContentType(String),
}

/// A parsed final response: status, content type, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The `content-type` field, if any.
    pub content_type: Option<String>,
    /// The body, decoded from its transfer coding.
    pub body: Vec<u8>,
}

/// What [`parse_response`] made of the bytes so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// More bytes are needed.
    Partial,
    /// The whole response.
    Complete(HttpResponse),
}

// === encoding ===

/// The request: `POST path?params`, `Host`, the DNS media type, the body's length, and
/// `connection: close` (one query per connection).
pub fn encode_request(host: &str, path: &str, params: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut target = path.to_string();
    if !params.is_empty() {
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        target.push(if target.contains('?') { '&' } else { '?' });
        target.push_str(&encoded);
    }
    let mut out = format!(
        "POST {target} HTTP/1.1\r\nhost: {host}\r\ncontent-type: {DNS_MESSAGE}\r\n\
         accept: {DNS_MESSAGE}\r\ncontent-length: {}\r\nconnection: close\r\n\
         user-agent: hnsfleet-client/{}\r\n\r\n",
        body.len(),
        env!("CARGO_PKG_VERSION"),
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// A response in canonical form (status, `content-type` if any, `content-length`, body): what
/// [`parse_response`] parses back to an equal value (tests and the fuzz body use it).
pub fn encode_response(response: &HttpResponse) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {:03} X\r\n", response.status);
    if let Some(content_type) = &response.content_type {
        out.push_str(&format!("content-type: {content_type}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", response.body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(&response.body);
    out
}

// === parsing ===

/// Parses the response in `buf` (all bytes received so far; `eof` when the connection has
/// ended). 1xx interim responses are skipped.
pub fn parse_response(buf: &[u8], eof: bool) -> Result<Parsed, HttpError> {
    let mut rest = buf;
    for _ in 0..=MAX_INTERIM {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut head = httparse::Response::new(&mut headers);
        let head_len = match head.parse(rest) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if rest.len() > MAX_HEAD => {
                return Err(HttpError::TooLarge("head"));
            }
            Ok(httparse::Status::Partial) if eof => return Err(HttpError::Truncated),
            Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
            Err(httparse::Error::TooManyHeaders) => return Err(HttpError::TooLarge("headers")),
            Err(e) => return Err(HttpError::Malformed(e.to_string())),
        };
        if head_len > MAX_HEAD {
            return Err(HttpError::TooLarge("head"));
        }
        let status = head.code.unwrap_or(0);
        if (100..200).contains(&status) {
            if status == 101 {
                return Err(HttpError::Malformed("unasked protocol switch".into()));
            }
            rest = &rest[head_len..];
            continue;
        }
        let framing = Framing::of(head.headers)?;
        let content_type = field(head.headers, "content-type")
            .map(|v| String::from_utf8_lossy(v).trim().to_string());
        let body = &rest[head_len..];
        let body = match framing.body(body, eof)? {
            Some(body) => body,
            None => return Ok(Parsed::Partial),
        };
        return Ok(Parsed::Complete(HttpResponse {
            status,
            content_type,
            body,
        }));
    }
    Err(HttpError::Malformed("too many interim responses".into()))
}

/// Checks a DoH answer: status 200 and the DNS media type; its body.
pub fn dns_body(response: HttpResponse) -> Result<Vec<u8>, HttpError> {
    if response.status != 200 {
        return Err(HttpError::Status(response.status));
    }
    let content_type = response.content_type.unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case(DNS_MESSAGE) {
        return Err(HttpError::ContentType(content_type));
    }
    Ok(response.body)
}

/// How the body is delimited (RFC 9112 §6.3).
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

impl Framing {
    /// From the fields: `transfer-encoding: chunked` (the only coding accepted), else one
    /// `content-length` (repeats must agree), else up to the end of the connection.
    fn of(headers: &[httparse::Header<'_>]) -> Result<Framing, HttpError> {
        let mut length: Option<usize> = None;
        let mut chunked = false;
        for header in headers {
            if header.name.eq_ignore_ascii_case("transfer-encoding") {
                let value = std::str::from_utf8(header.value)
                    .map_err(|_| HttpError::Malformed("transfer-encoding".into()))?;
                if chunked || !value.trim().eq_ignore_ascii_case("chunked") {
                    return Err(HttpError::Malformed(format!("transfer-encoding {value:?}")));
                }
                chunked = true;
            } else if header.name.eq_ignore_ascii_case("content-length") {
                let value = parse_decimal(header.value)
                    .ok_or_else(|| HttpError::Malformed("content-length".into()))?;
                if length.is_some_and(|l| l != value) {
                    return Err(HttpError::Malformed("conflicting content-length".into()));
                }
                length = Some(value);
            }
        }
        match (chunked, length) {
            (true, Some(_)) => Err(HttpError::Malformed(
                "both transfer-encoding and content-length".into(),
            )),
            (true, None) => Ok(Framing::Chunked),
            (false, Some(len)) if len > MAX_MESSAGE => Err(HttpError::TooLarge("body")),
            (false, Some(len)) => Ok(Framing::Length(len)),
            (false, None) => Ok(Framing::UntilClose),
        }
    }

    /// The body if `bytes` hold all of it, `None` if more are needed.
    fn body(&self, bytes: &[u8], eof: bool) -> Result<Option<Vec<u8>>, HttpError> {
        match *self {
            Framing::Length(len) if bytes.len() >= len => Ok(Some(bytes[..len].to_vec())),
            Framing::Length(_) if eof => Err(HttpError::Truncated),
            Framing::Length(_) => Ok(None),
            Framing::UntilClose if bytes.len() > MAX_MESSAGE => Err(HttpError::TooLarge("body")),
            Framing::UntilClose if eof => Ok(Some(bytes.to_vec())),
            Framing::UntilClose => Ok(None),
            Framing::Chunked => match dechunk(bytes)? {
                Some(body) => Ok(Some(body)),
                None if eof => Err(HttpError::Truncated),
                None => Ok(None),
            },
        }
    }
}

/// Decodes a chunked body (sizes, extensions ignored, trailer fields skipped): the body, or
/// `None` if the bytes end before the last chunk and trailers do.
fn dechunk(mut bytes: &[u8]) -> Result<Option<Vec<u8>>, HttpError> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = find_crlf(bytes, MAX_CHUNK_LINE)? else {
            return Ok(None);
        };
        let line = &bytes[..line_end];
        let size_text = line.split(|&b| b == b';').next().unwrap_or_default();
        let size = parse_hex(size_text).ok_or_else(|| HttpError::Malformed("chunk size".into()))?;
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            // Trailer fields, then an empty line.
            loop {
                let Some(end) = find_crlf(bytes, MAX_HEAD)? else {
                    return Ok(None);
                };
                bytes = &bytes[end + 2..];
                if end == 0 {
                    return Ok(Some(body));
                }
            }
        }
        if body.len().saturating_add(size) > MAX_MESSAGE {
            return Err(HttpError::TooLarge("body"));
        }
        if bytes.len() < size + 2 {
            return Ok(None);
        }
        if &bytes[size..size + 2] != b"\r\n" {
            return Err(HttpError::Malformed("chunk not followed by crlf".into()));
        }
        body.extend_from_slice(&bytes[..size]);
        bytes = &bytes[size + 2..];
    }
}

/// Offset of the first CRLF within the first `limit` bytes: `None` if the bytes end first, an
/// error if the limit passes without one.
fn find_crlf(bytes: &[u8], limit: usize) -> Result<Option<usize>, HttpError> {
    match bytes.windows(2).take(limit).position(|w| w == b"\r\n") {
        Some(at) => Ok(Some(at)),
        None if bytes.len() > limit => Err(HttpError::TooLarge("line")),
        None => Ok(None),
    }
}

/// The value of the first field called `name`.
fn field<'a>(headers: &[httparse::Header<'a>], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value)
}

/// A decimal number (digits only, surrounding spaces allowed, at most 9 digits).
fn parse_decimal(text: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(text).ok()?.trim();
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A chunk size: hex digits (spaces around allowed, at most 8 digits).
fn parse_hex(text: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(text).ok()?.trim();
    if text.is_empty() || text.len() > 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    usize::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests;
